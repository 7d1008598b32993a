// The launcher behind `npm start`: argument handling, and one real run of wrangler dev in front of a
// real origin (the interface automated checks use).
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { parseStartArgs, workerVariables } from "../../scripts/start.mjs";

describe("parseStartArgs", () => {
  it("defaults to port 8787 and the demo origin", () => {
    expect(parseStartArgs([])).toEqual({ port: 8787, origins: [], problems: [] });
  });

  it("keeps origins in the order given: primary first", () => {
    const args = parseStartArgs(["--origin", "http://127.0.0.1:3000", "--origin", "https://backup.example.com", "--port", "9000"]);
    expect(args).toEqual({ port: 9000, origins: ["http://127.0.0.1:3000", "https://backup.example.com"], problems: [] });
  });

  it("reports every bad argument at once", () => {
    expect(parseStartArgs(["--origin", "localhost:3000", "--origin", "ftp://x.example", "--port", "0"]).problems).toEqual([
      '--port: "0" is not a port number (1-65535)',
      '--origin #1: "localhost:3000" must use http or https',
      '--origin #2: "ftp://x.example" must use http or https',
    ]);
  });

  it("rejects unknown options", () => {
    expect(parseStartArgs(["--orign", "http://a"]).problems[0]).toMatch(/Unknown option '--orign'/);
  });
});

describe("parseStartArgs --health-path", () => {
  it("takes a health path for the --origin pools", () => {
    expect(parseStartArgs(["--origin", "http://a.example", "--health-path", "/healthz"])).toMatchObject({ healthPath: "/healthz", problems: [] });
  });

  it("refuses a health path without --origin or without a leading slash", () => {
    expect(parseStartArgs(["--health-path", "healthz"]).problems).toEqual([
      "--health-path: only with --origin (wrangler.toml's monitors set the demo's checks)",
      '--health-path: "healthz" must start with /',
    ]);
  });
});

describe("npm start on a broken configuration", () => {
  it("refuses to start and prints every problem", { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ["scripts/start.mjs", "--port", "1"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, OUTPOST_ORIGINS: "ftp://bad.example, notaurl" },
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(1);
    expect(output).toContain('OUTPOST_ORIGINS[0]: must use http or https, not "ftp"');
    expect(output).toContain('OUTPOST_ORIGINS[1]: not an absolute URL: "notaurl"');
    expect(output).toContain("outpost: not starting");
    expect(output).not.toContain("demo origin");
  });
});

describe("npm run deploy on a broken configuration", () => {
  it("refuses to deploy, naming the file, line and column", { timeout: 30_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-deploy-"));
    writeFileSync(join(dir, "wrangler.toml"), 'name = "t"\n[vars.OUTPOST\n');
    const child = spawn(process.execPath, ["scripts/deploy.mjs", "--config", join(dir, "wrangler.toml"), "--dry-run"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(1);
    expect(output).toContain("wrangler.toml:2:14: Invalid TOML document");
    expect(output).toContain("outpost: not deploying");
  });
});

describe("workerVariables", () => {
  it("passes OUTPOST_* variables through and sets OUTPOST_ORIGINS from --origin", () => {
    expect(workerVariables(["http://a", "http://b"], { OUTPOST_ADMIN_TOKEN: "t", PATH: "/bin", HOME: "/root" })).toEqual({
      OUTPOST_ADMIN_TOKEN: "t",
      OUTPOST_ORIGINS: "http://a,http://b",
    });
  });
});

describe("npm start -- --origin", () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((server) => server.close()));

  async function listen(server: Server, port = 0): Promise<number> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  it("puts Outpost in front of the given origin on the given port, with the admin API opened by OUTPOST_ADMIN_TOKEN", { timeout: 60_000 }, async () => {
    let hits = 0;
    const probes: string[] = [];
    const originPort = await listen(
      createServer((req, res) => {
        if (req.url === "/healthz") probes.push(`${req.method} ${req.url}`);
        else hits += 1;
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("hello from the test origin");
      }),
    );
    const probe = createServer();
    const outpostPort = await listen(probe);
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const child = spawn(process.execPath, ["scripts/start.mjs", "--origin", `http://127.0.0.1:${originPort}`, "--health-path", "/healthz", "--port", String(outpostPort)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, OUTPOST_ADMIN_TOKEN: "start-test-token-0123456789" },
      detached: true, // its own process group, so the whole tree stops with it
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    try {
      await expect.poll(() => output, { timeout: 45_000, interval: 200 }).toContain("Ready on");
      const response = await fetch(`http://127.0.0.1:${outpostPort}/any/path`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("hello from the test origin");
      expect(response.headers.get("outpost-upstream")).toBe('route="default", pool="primary", origin="primary", steering="off", reason="default", attempts=1');
      expect(hits).toBe(1);
      const status = await fetch(`http://127.0.0.1:${outpostPort}/__outpost/status`, { headers: { authorization: "Bearer start-test-token-0123456789" } });
      expect(status.status).toBe(200);
      expect(((await status.json()) as { config: { routes: Array<{ name: string }> } }).config.routes[0]!.name).toBe("default");
      expect((await fetch(`http://127.0.0.1:${outpostPort}/__outpost/status`)).status).toBe(401);
      expect(hits).toBe(1);
      // The default monitor of --origin pools, on --health-path: the first cron run probes it.
      await expect.poll(() => probes, { timeout: 20_000, interval: 200 }).toContain("GET /healthz");
    } finally {
      process.kill(-child.pid!, "SIGINT");
    }
  });
});

// `npm run check`: the offline validation of a wrangler config file, run as a user runs it.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

async function check(toml: string): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "outpost-check-"));
  const file = join(dir, "wrangler.toml");
  writeFileSync(file, toml);
  try {
    const { stdout, stderr } = await run(process.execPath, ["scripts/check-config.ts", "--config", file]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

const HEADER = `name = "t"\nmain = "src/index.ts"\ncompatibility_date = "2026-10-20"\nkv_namespaces = [{ binding = "OUTPOST_CACHE", id = "x" }]\n`;

describe("npm run check", { timeout: 30_000 }, () => {
  it("accepts the project's own wrangler.toml", async () => {
    const { stdout } = await run(process.execPath, ["scripts/check-config.ts"]);
    expect(stdout).toContain("ok    wrangler.toml top level");
    expect(stdout).toContain("ok    wrangler.toml [env.production]");
  });

  it("accepts the complete example in docs/configuration.md, so the docs cannot drift from the schema", async () => {
    const doc = readFileSync("docs/configuration.md", "utf8");
    const example = /## A complete example\n\n[^\n]*\n\n```toml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const { code, output } = await check(example!);
    expect(output).toContain("ok    ");
    expect(code).toBe(0);
  });

  it("accepts the short example in the README", async () => {
    const readme = readFileSync("README.md", "utf8");
    const example = /## Configuration in short\n\n[^\n]*\n\n```toml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const { code, output } = await check(`name = "t"\nmain = "src/index.ts"\ncompatibility_date = "2026-10-20"\n${example!}`);
    expect(output).toContain("ok    ");
    expect(code).toBe(0);
  });

  it("lists every problem of every environment with its path, and exits 1", async () => {
    const { code, output } = await check(`${HEADER}
[[vars.OUTPOST.pools]]
name = "eu"
origins = [{ name = "eu-1", address = "origin.example.com" }]

[[vars.OUTPOST.routes]]
name = "site"
default_pools = ["eu-west"]

[env.staging]
name = "t-staging"
`);
    expect(code).toBe(1);
    expect(output).toContain('pools[0].origins[0].address: not an absolute URL: "origin.example.com"');
    expect(output).toContain('routes[0].default_pools[0]: unknown pool "eu-west"');
    expect(output).toContain('error ');
    expect(output).toContain("[env.staging]: 2 problem(s)");
    expect(output).toContain('kv_namespaces: no binding "OUTPOST_CACHE"');
    expect(output).toContain("OUTPOST: missing");
    expect(output).toContain("4 problem(s) found.");
  });

  it("reports a TOML syntax error as file:line:column with the offending line and a caret", async () => {
    const { code, output } = await check(`${HEADER}\n[vars.OUTPOST\n`);
    expect(code).toBe(1);
    expect(output).toMatch(/wrangler\.toml:6:14: Invalid TOML document: illegal character in key\n {2}6 \| \[vars\.OUTPOST\n {4}\| {14}\^/);
  });

  it("shows a control character in a string where it is, escaped", async () => {
    const { code, output } = await check(`${HEADER}[vars.OUTPOST]\ncache_version = "a\u0001b"\n`);
    expect(code).toBe(1);
    expect(output).toContain("wrangler.toml:6:19: Invalid TOML document: control characters are not allowed in strings");
    expect(output).toContain('  6 | cache_version = "a\\u0001b"');
  });

  it("suggests the closest key for a misspelt one, in Outpost's words", async () => {
    const { code, output } = await check(`${HEADER}
[[vars.OUTPOST.pools]]
name = "eu"
origins = [{ name = "eu-1", address = "https://origin.example.com", weight = 2 }]

[[vars.OUTPOST.routes]]
name = "site"
default_pools = ["eu"]
steering_polcy = "geo"
`);
    expect(code).toBe(1);
    expect(output).toContain('routes[0]: unknown key "steering_polcy" (did you mean "steering_policy"?)');
    expect(output).toContain("pools[0].origins[0].weight: must be at most 1");
    expect(output).not.toMatch(/Too big|Unrecognized key|Invalid input/);
  });

  it("checks the configuration --origin builds, with its health path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-check-"));
    const file = join(dir, "wrangler.toml");
    writeFileSync(file, HEADER);
    const failure = await run(process.execPath, ["scripts/check-config.ts", "--config", file, "--origins", "http://127.0.0.1:1", "--health-path", "health"]).catch((error) => error as { code: number; stdout: string });
    expect(failure.code).toBe(1);
    expect(failure.stdout).toContain('OUTPOST_HEALTH_PATH: must start with / (got "health")');
    const { stdout } = await run(process.execPath, ["scripts/check-config.ts", "--config", file, "--origins", "http://127.0.0.1:1,http://127.0.0.1:2"]);
    expect(stdout).toContain("1 route(s), 2 pool(s), 2 origin(s)");
  });
});

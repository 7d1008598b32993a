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

  it("accepts the complete example in the README, so the docs cannot drift from the schema", async () => {
    const readme = readFileSync("README.md", "utf8");
    const example = /### A complete example\n\n```toml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const { code, output } = await check(example!);
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

  it("reports a file that is not valid TOML", async () => {
    const { code, output } = await check(`${HEADER}\n[vars.OUTPOST\n`);
    expect(code).toBe(1);
    expect(output).toMatch(/wrangler\.toml/);
  });
});

// Runs `npm run check` (scripts/check-config.ts) as a user runs it, on a TOML text written to a
// temporary wrangler.toml, or on the project's own wrangler.toml when `toml` is undefined.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export async function check(toml: string | undefined, args: string[] = []): Promise<{ code: number; output: string }> {
  const configArgs: string[] = [];
  if (toml !== undefined) {
    const file = join(mkdtempSync(join(tmpdir(), "outpost-check-")), "wrangler.toml");
    writeFileSync(file, toml);
    configArgs.push("--config", file);
  }
  try {
    const { stdout, stderr } = await run(process.execPath, ["scripts/check-config.ts", ...configArgs, ...args], { env: { ...process.env, OUTPOST_PLAN: "" } });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

#!/usr/bin/env node
// `npm run deploy [-- --env production ...]`: the configuration check first (the one `npm run check`
// and `npm start` run, for the environment being deployed), then `wrangler deploy` with the same
// arguments. A broken configuration is never deployed: it would answer every request with a 500.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { resolveNode22 } from "./node22.mjs";
import { runConfigCheck } from "./run-check.mjs";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The config file and environment wrangler deploy will use, read from its own arguments. */
export function deployTarget(argv) {
  const { values } = parseArgs({ args: argv, options: { env: { type: "string", short: "e" }, config: { type: "string", short: "c" } }, strict: false, allowPositionals: true });
  return { configPath: typeof values.config === "string" ? values.config : "wrangler.toml", environment: typeof values.env === "string" ? values.env : null };
}

function main() {
  const argv = process.argv.slice(2);
  const node = resolveNode22();
  if (!runConfigCheck(deployTarget(argv), { node, verbose: true })) {
    console.error("\noutpost: not deploying: fix the configuration above first.");
    process.exit(1);
  }
  const child = spawn(node, [join(projectRoot, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", ...argv], {
    cwd: projectRoot,
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" },
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) main();

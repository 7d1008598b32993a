// The configuration check `npm start` and `npm run deploy` run before anything starts: the same
// function as `npm run check` (scripts/check-config.ts, run under Node 22 because it is TypeScript
// and imports wrangler). Prints its report; answers whether the configuration may be used.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveNode22 } from "./node22.mjs";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Argument list for check-config.ts; `environment: null` checks the top level only (wrangler dev). */
export function checkArgs({ configPath = "wrangler.toml", environment, origins, healthPath } = {}) {
  const args = ["--config", configPath];
  if (environment === null) args.push("--top-level");
  else if (environment !== undefined) args.push("--env", environment);
  if (origins) args.push("--origins", origins);
  if (healthPath) args.push("--health-path", healthPath);
  return args;
}

/** Runs the check; prints its report only when something is wrong (or when `verbose`). */
export function runConfigCheck(options = {}, { verbose = false, node = resolveNode22() } = {}) {
  const result = spawnSync(node, [join(projectRoot, "scripts", "check-config.ts"), ...checkArgs(options)], {
    cwd: projectRoot,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" },
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trimEnd();
  const ok = result.status === 0;
  if (!ok || verbose) (ok ? console.log : console.error)(output);
  return ok;
}

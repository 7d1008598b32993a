// `npm run check [-- --config wrangler.toml]`: validates Outpost's configuration in every environment
// of a wrangler config file, offline, with the same messages the worker logs. Exits 1 on any problem.
// `npm start` and `npm run deploy` run the same check (checkConfigFile) before they start anything.
//   --env <name>        check only the top level and [env.<name>] (what `wrangler deploy --env` uses)
//   --top-level         check only the top level (what `npm start`, i.e. wrangler dev, runs)
//   --origins <a,b>     check as `npm start -- --origin a --origin b` runs (OUTPOST_ORIGINS)
//   --health-path <p>   with --origins: the health-check path (`npm start -- --health-path`)
//   --strict            deploy-time lint warnings count as problems (docs/lint.md); CI uses it
//   --plan free|paid    the Workers plan the subrequest lint assumes (default free, or OUTPOST_PLAN)
// Route tests written beside the routes ([[vars.OUTPOST.tests]], docs/route-tests.md) run too.
import "urlpattern-polyfill"; // Node 22 has no URLPattern; workerd has it natively.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { experimental_readRawConfig } from "wrangler";
import { readConfig } from "../src/config/load-config.ts";
import { coordinationProblems, parsePlan, runDeployChecks, type RawEnvironment as DeployEnvironment } from "./lib/deploy-checks.ts";

const CACHE_BINDING = "OUTPOST_CACHE";

interface RawEnvironment {
  vars?: Record<string, unknown>;
  kv_namespaces?: Array<{ binding?: string }>;
}

export interface CheckOptions {
  configPath: string;
  /** Only the top level and this [env.*] block; null: the top level alone. */
  environment?: string | null;
  /** Checks as OUTPOST_ORIGINS would run (npm start -- --origin). */
  origins?: string;
  healthPath?: string;
  /** Lint warnings count as problems. */
  strict?: boolean;
  /** The Workers plan the lint assumes ("free" or "paid"). */
  plan?: string;
}

export interface CheckReport {
  ok: boolean;
  /** What to print, one line each: "ok ..." / "error ..." per environment, then its problems. */
  lines: string[];
  problemCount: number;
}

function environmentProblems(environment: RawEnvironment, options: CheckOptions, topLevel: RawEnvironment): { problems: string[]; summary: string } {
  const problems: string[] = [];
  const vars = environment.vars ?? {};
  if (!(environment.kv_namespaces ?? []).some((namespace) => namespace.binding === CACHE_BINDING)) {
    problems.push(`kv_namespaces: no binding "${CACHE_BINDING}" (kv_namespaces are not inherited by [env.*] blocks)`);
  }
  const origins = options.origins ?? (typeof vars.OUTPOST_ORIGINS === "string" ? vars.OUTPOST_ORIGINS : undefined);
  const healthPath = options.healthPath ?? (typeof vars.OUTPOST_HEALTH_PATH === "string" ? vars.OUTPOST_HEALTH_PATH : undefined);
  const result = readConfig({ OUTPOST: vars.OUTPOST, OUTPOST_ORIGINS: origins, OUTPOST_HEALTH_PATH: healthPath });
  if (!result.ok) {
    problems.push(...result.problems);
    return { problems, summary: "" };
  }
  problems.push(...coordinationProblems(result.config, environment as DeployEnvironment, topLevel as DeployEnvironment).errors);
  const { routes, pools } = result.config;
  const originCount = [...pools.values()].reduce((count, pool) => count + pool.origins.length, 0);
  return { problems, summary: `${routes.length} route(s), ${pools.size} pool(s), ${originCount} origin(s)` };
}

interface TomlLocation {
  file?: string;
  line?: number;
  column?: number;
  lineText?: string;
}

/** Control characters made visible, so the line shows what the parser tripped on. */
function visible(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * A syntax error as wrangler and compilers print it: file:line:column, the line, a caret.
 * wrangler's ParseError carries a 1-based line and a 0-based column.
 */
export function describeSyntaxError(configPath: string, error: unknown): string[] {
  const text = (error as { text?: string })?.text ?? (error instanceof Error ? error.message : String(error));
  const location = (error as { location?: TomlLocation })?.location;
  if (!location?.line) return [`${configPath}: ${text}`];
  const column = (location.column ?? 0) + 1;
  const lineText = location.lineText ?? "";
  const shown = visible(lineText);
  // The caret sits under the same character once earlier control characters are widened.
  const caretAt = visible(lineText.slice(0, column - 1)).length;
  const gutter = String(location.line);
  return [
    `${configPath}:${location.line}:${column}: ${text}`,
    `  ${gutter} | ${shown}`,
    `  ${" ".repeat(gutter.length)} | ${" ".repeat(caretAt)}^`,
  ];
}

/** The one check `npm run check`, `npm start` and `npm run deploy` run. Never throws. */
export function checkConfigFile(options: CheckOptions): CheckReport {
  const { configPath } = options;
  if (!existsSync(configPath)) return { ok: false, lines: [`${configPath}: file not found`], problemCount: 1 };
  let rawConfig: RawEnvironment & { env?: Record<string, RawEnvironment> };
  try {
    rawConfig = experimental_readRawConfig({ config: configPath }).rawConfig as typeof rawConfig;
  } catch (error) {
    return { ok: false, lines: describeSyntaxError(configPath, error), problemCount: 1 };
  }
  const environments: Array<[string, RawEnvironment]> = [
    ["top level", rawConfig],
    ...Object.entries(rawConfig.env ?? {})
      .filter(([name]) => options.environment === undefined || (options.environment !== null && name === options.environment))
      .map(([name, environment]): [string, RawEnvironment] => [`[env.${name}]`, environment]),
  ];
  const lines: string[] = [];
  if (typeof options.environment === "string" && environments.length === 1) {
    lines.push(`error ${configPath}: no [env.${options.environment}] block`);
    return { ok: false, lines, problemCount: 1 };
  }
  let total = 0;
  for (const [label, environment] of environments) {
    const { problems, summary } = environmentProblems(environment, options, rawConfig);
    total += problems.length;
    if (problems.length === 0) {
      lines.push(`ok    ${configPath} ${label}: ${summary}`);
    } else {
      lines.push(`error ${configPath} ${label}: ${problems.length} problem(s)`);
      for (const problem of problems) lines.push(`        ${problem}`);
    }
    const checks = runDeployChecks(label === "top level" ? undefined : label.slice(5, -1), environment, rawConfig, { strict: options.strict ?? false, plan: options.plan });
    lines.push(...checks.lines);
    total += checks.errors;
  }
  if (total > 0) lines.push("", `${total} problem(s) found.`);
  return { ok: total === 0, lines, problemCount: total };
}

function main(): number {
  const { values } = parseArgs({
    options: {
      config: { type: "string", default: "wrangler.toml" },
      env: { type: "string" },
      "top-level": { type: "boolean", default: false },
      origins: { type: "string" },
      "health-path": { type: "string" },
      strict: { type: "boolean", default: false },
      plan: { type: "string", default: process.env.OUTPOST_PLAN },
    },
  });
  if (!parsePlan(values.plan)) {
    console.error(`--plan: "${values.plan}" is not a Workers plan (free or paid)`);
    return 1;
  }
  const report = checkConfigFile({ configPath: values.config, environment: values["top-level"] ? null : values.env, origins: values.origins, healthPath: values["health-path"], strict: values.strict, plan: values.plan });
  for (const line of report.lines) console.log(line);
  return report.ok ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();

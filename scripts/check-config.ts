// `npm run check [-- --config wrangler.toml]`: validates Outpost's configuration in every environment
// of a wrangler config file, offline, with the same messages the worker logs. Exits 1 on any problem.
import "urlpattern-polyfill"; // Node 22 has no URLPattern; workerd has it natively.
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { experimental_readRawConfig } from "wrangler";
import { readConfig } from "../src/config/load-config.ts";
import { parsePlan, runDeployChecks } from "./lib/deploy-checks.ts";

const CACHE_BINDING = "OUTPOST_CACHE";

interface RawEnvironment {
  vars?: Record<string, unknown>;
  kv_namespaces?: Array<{ binding?: string }>;
}

function environmentProblems(environment: RawEnvironment): { problems: string[]; summary: string } {
  const problems: string[] = [];
  const vars = environment.vars ?? {};
  if (!(environment.kv_namespaces ?? []).some((namespace) => namespace.binding === CACHE_BINDING)) {
    problems.push(`kv_namespaces: no binding "${CACHE_BINDING}" (kv_namespaces are not inherited by [env.*] blocks)`);
  }
  const result = readConfig({ OUTPOST: vars.OUTPOST, OUTPOST_ORIGINS: typeof vars.OUTPOST_ORIGINS === "string" ? vars.OUTPOST_ORIGINS : undefined });
  if (!result.ok) {
    problems.push(...result.problems);
    return { problems, summary: "" };
  }
  const { routes, pools } = result.config;
  const origins = [...pools.values()].reduce((count, pool) => count + pool.origins.length, 0);
  return { problems, summary: `${routes.length} route(s), ${pools.size} pool(s), ${origins} origin(s)` };
}

function main(): number {
  const { values } = parseArgs({ options: { config: { type: "string", default: "wrangler.toml" }, strict: { type: "boolean", default: false }, plan: { type: "string", default: process.env.OUTPOST_PLAN } } });
  const configPath = values.config;
  if (!parsePlan(values.plan)) {
    console.error(`--plan: "${values.plan}" is not a Workers plan (free or paid)`);
    return 1;
  }
  if (!existsSync(configPath)) {
    console.error(`${configPath}: file not found`);
    return 1;
  }
  let rawConfig: RawEnvironment & { env?: Record<string, RawEnvironment> };
  try {
    rawConfig = experimental_readRawConfig({ config: configPath }).rawConfig as typeof rawConfig;
  } catch (error) {
    console.error(`${configPath}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const environments: Array<[string, RawEnvironment]> = [
    ["top level", rawConfig],
    ...Object.entries(rawConfig.env ?? {}).map(([name, environment]): [string, RawEnvironment] => [`[env.${name}]`, environment]),
  ];
  let total = 0;
  for (const [label, environment] of environments) {
    const { problems, summary } = environmentProblems(environment);
    total += problems.length;
    if (problems.length === 0) {
      console.log(`ok    ${configPath} ${label}: ${summary}`);
    } else {
      console.log(`error ${configPath} ${label}: ${problems.length} problem(s)`);
      for (const problem of problems) console.log(`        ${problem}`);
    }
    const checks = runDeployChecks(label === "top level" ? undefined : label.slice(5, -1), environment, rawConfig, { strict: values.strict, plan: values.plan });
    for (const line of checks.lines) console.log(line);
    total += checks.errors;
  }
  if (total > 0) console.log(`\n${total} problem(s) found.`);
  return total > 0 ? 1 : 0;
}

process.exitCode = main();

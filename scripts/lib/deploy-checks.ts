// The deploy-time checks `npm run check` runs on each environment after validation: the lint
// (src/config/lint.ts: warnings, errors under --strict) and the route tests (src/config/route-tests.ts:
// a table, errors on any mismatch). One function per environment, so `npm run check` (and
// `npm run deploy`, which runs the check first) only has to call it and add up the errors.
import { readConfig } from "../../src/config/load-config.ts";
import { DEFAULT_PLAN, formatLintWarning, lintConfig, SUBREQUEST_LIMITS, type DeployFacts, type WorkersPlan } from "../../src/config/lint.ts";
import { formatRouteTestResults, runRouteTests } from "../../src/config/route-tests.ts";

/** The wrangler.toml keys the checks read, for the top level or one [env.*] block. */
export interface RawEnvironment {
  vars?: Record<string, unknown>;
  secrets?: { required?: unknown };
  triggers?: { crons?: unknown };
  durable_objects?: { bindings?: unknown };
}

export interface DeployCheckOptions {
  /** Warnings become errors (CI, `npm run deploy`). */
  strict?: boolean;
  /** The Workers plan whose limits apply; `--plan` or OUTPOST_PLAN, else DEFAULT_PLAN. */
  plan?: string;
}

export interface DeployCheckReport {
  /** Printed under the environment's ok/error line. */
  lines: string[];
  warnings: number;
  /** Failed route tests, plus the warnings under --strict. */
  errors: number;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []);

export function parsePlan(value: string | undefined): WorkersPlan | undefined {
  if (value === undefined || value === "") return DEFAULT_PLAN;
  return value in SUBREQUEST_LIMITS ? (value as WorkersPlan) : undefined;
}

/**
 * What wrangler.toml says about one environment. `name` is the [env.NAME] name, undefined for the top
 * level. Triggers are inherited from the top level; secrets and Durable Object bindings are not.
 */
export function deployFacts(name: string | undefined, environment: RawEnvironment, topLevel: RawEnvironment, plan: WorkersPlan): DeployFacts {
  const triggers = environment.triggers ?? topLevel.triggers;
  return {
    production: name !== undefined && /^prod/i.test(name),
    requiredSecrets: strings(environment.secrets?.required),
    crons: strings(triggers?.crons),
    durableObjects: Array.isArray(environment.durable_objects?.bindings) && environment.durable_objects.bindings.length > 0,
    plan,
  };
}

/** Lint and route tests for one environment; nothing to report when its configuration is invalid (validation says why). */
export function runDeployChecks(name: string | undefined, environment: RawEnvironment, topLevel: RawEnvironment, options: DeployCheckOptions = {}): DeployCheckReport {
  const vars = environment.vars ?? {};
  const result = readConfig({ OUTPOST: vars.OUTPOST, OUTPOST_ORIGINS: typeof vars.OUTPOST_ORIGINS === "string" ? vars.OUTPOST_ORIGINS : undefined });
  if (!result.ok) return { lines: [], warnings: 0, errors: 0 };
  const plan = parsePlan(options.plan) ?? DEFAULT_PLAN;
  const warnings = lintConfig(result.config, deployFacts(name, environment, topLevel, plan));
  const label = options.strict ? "error " : "warn  ";
  const lines = warnings.flatMap((warning) => formatLintWarning(warning).split("\n").map((line, index) => (index === 0 ? `${label}${line}` : `      ${line}`)));
  let failed = 0;
  if (result.config.tests.length > 0) {
    const results = runRouteTests(result.config);
    failed = results.filter((test) => test.mismatches.length > 0).length;
    lines.push(`${failed > 0 ? "error " : "      "}route tests: ${results.length - failed} passed, ${failed} failed`, ...formatRouteTestResults(results).map((line) => (line ? `      ${line}` : "")));
  }
  return { lines, warnings: warnings.length, errors: failed + (options.strict ? warnings.length : 0) };
}

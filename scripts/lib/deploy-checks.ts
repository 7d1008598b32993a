// The deploy-time checks `npm run check` runs on each environment after validation: the lint
// (src/config/lint.ts: warnings, errors under --strict) and the route tests (src/config/route-tests.ts:
// a table, errors on any mismatch). One function per environment, so `npm run check` (and
// `npm run deploy`, which runs the check first) only has to call it and add up the errors.
import { readConfig } from "../../src/config/load-config.ts";
import { DEFAULT_PLAN, formatLintWarning, lintConfig, SUBREQUEST_LIMITS, type DeployFacts, type WorkersPlan } from "../../src/config/lint.ts";
import { formatRouteTestResults, runRouteTests } from "../../src/config/route-tests.ts";
import type { CompiledConfig } from "../../src/config/validate-config.ts";
import { POOL_HEALTH_BINDING, POOL_HEALTH_CLASS } from "../../src/coordination/pool-health-client.ts";
import { PURGE_COORDINATOR_BINDING, PURGE_COORDINATOR_CLASS } from "../../src/coordination/purge-client.ts";
import { SHIELD_BINDING, SHIELD_CLASS } from "../../src/coordination/shield-protocol.ts";

/** The wrangler.toml keys the checks read, for the top level or one [env.*] block. */
export interface RawEnvironment {
  vars?: Record<string, unknown>;
  secrets?: { required?: unknown };
  triggers?: { crons?: unknown };
  durable_objects?: { bindings?: unknown };
  migrations?: unknown;
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

interface DurableObjectBinding {
  name?: unknown;
  class_name?: unknown;
}

/**
 * The Durable Object bindings against the configuration: asked for but not bound is an error
 * (coordination would silently stay on KV), bound to another class or without a SQLite migration is
 * an error (the deploy fails), bound but not asked for is a warning (a binding nothing uses).
 */
export function coordinationProblems(config: CompiledConfig, environment: RawEnvironment, topLevel: RawEnvironment): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const objects = [
    {
      setting: "coordination.purge_coordinator",
      enable: "set coordination = { purge_coordinator = true } in [vars.OUTPOST]",
      enabled: config.coordination.purge_coordinator,
      name: PURGE_COORDINATOR_BINDING,
      className: PURGE_COORDINATOR_CLASS,
      tag: "v1",
      unused: "purges ride on KV alone (~65 s to every location)",
    },
    {
      setting: "coordination.shared_health",
      enable: "set coordination = { shared_health = true } in [vars.OUTPOST]",
      enabled: config.coordination.shared_health,
      name: POOL_HEALTH_BINDING,
      className: POOL_HEALTH_CLASS,
      tag: "v2",
      unused: "each isolate learns about failing origins on its own",
    },
    {
      setting: `pools[].shield (${[...config.pools.values()].filter((pool) => pool.shield).map((pool) => pool.name).join(", ") || "none"})`,
      enable: "add shield = {} to a pool",
      enabled: [...config.pools.values()].some((pool) => pool.shield !== undefined),
      name: SHIELD_BINDING,
      className: SHIELD_CLASS,
      tag: "v3",
      unused: "every location fetches its own misses",
    },
  ];
  const bindings = Array.isArray(environment.durable_objects?.bindings) ? (environment.durable_objects.bindings as DurableObjectBinding[]) : [];
  const migrations = Array.isArray(environment.migrations) ? environment.migrations : Array.isArray(topLevel.migrations) ? topLevel.migrations : [];
  for (const object of objects) {
    const binding = bindings.find((candidate) => candidate?.name === object.name);
    if (object.enabled && !binding) {
      errors.push(`${object.setting}: no Durable Object binding "${object.name}" in this environment (durable_objects are not inherited by [env.*] blocks): add [[durable_objects.bindings]] name = "${object.name}", class_name = "${object.className}" (docs/coordination.md)`);
    }
    if (!binding) continue;
    if (binding.class_name !== object.className) {
      errors.push(`durable_objects.bindings: "${object.name}" must name class_name = "${object.className}", not ${JSON.stringify(binding.class_name)}`);
    }
    const migrated = migrations.some((migration) => Array.isArray((migration as { new_sqlite_classes?: unknown })?.new_sqlite_classes) && (migration as { new_sqlite_classes: unknown[] }).new_sqlite_classes.includes(object.className));
    if (!migrated) {
      errors.push(`migrations: no migration creates "${object.className}": add [[migrations]] tag = "${object.tag}", new_sqlite_classes = ["${object.className}"]`);
    }
    if (!object.enabled) {
      warnings.push(`durable_objects.bindings: "${object.name}" is bound but ${object.setting} is off, so ${object.unused}: ${object.enable}, or remove the binding`);
    }
  }
  return { errors, warnings };
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
  // The coordination errors are validation problems (check-config.ts lists them); the warning is here.
  const coordination = coordinationProblems(result.config, environment, topLevel);
  lines.push(...coordination.warnings.map((problem) => `${label}${problem}`));
  let failed = 0;
  if (result.config.tests.length > 0) {
    const results = runRouteTests(result.config);
    failed = results.filter((test) => test.mismatches.length > 0).length;
    lines.push(`${failed > 0 ? "error " : "      "}route tests: ${results.length - failed} passed, ${failed} failed`, ...formatRouteTestResults(results).map((line) => (line ? `      ${line}` : "")));
  }
  const warned = warnings.length + coordination.warnings.length;
  return { lines, warnings: warned, errors: failed + (options.strict ? warned : 0) };
}

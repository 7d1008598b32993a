// Turns raw configuration into a compiled config, or into the complete list of problems.
// Every problem names its path (`routes[2].default_pools[0]: unknown pool "eu-west"`) so one run of
// `npm run check` or one log line shows everything that is wrong.
import type { z } from "zod/mini";
import { compileUrlMatcher, type UrlMatcher } from "./url-matcher.ts";
import {
  ORIGIN_LIST_MONITOR,
  originAddressSchema,
  outpostConfigSchema,
  type MonitorConfig,
  type CoordinationConfig,
  type ObservabilityConfig,
  type OutpostConfig,
  type OutpostConfigInput,
  type PoolConfig,
  type RouteConfig,
  type RouteTest,
} from "./schema.ts";

export interface CompiledRoute extends RouteConfig {
  /** One matcher per entry of `hosts`, each combined with `path`. */
  matchers: UrlMatcher[];
  /** default_pools resolved, in failover order. */
  pools: PoolConfig[];
  fallbackPool: PoolConfig | undefined;
  /** geo steering tables, resolved: key (colo, country, region, continent) -> pools in order. */
  geoPools: Record<GeoLevel, ReadonlyMap<string, PoolConfig[]>>;
}

export const GEO_LEVELS = ["pop", "country", "region", "continent"] as const;
export type GeoLevel = (typeof GEO_LEVELS)[number];

export interface CompiledConfig {
  /** Part of every cache key. */
  cacheVersion: string;
  cacheTiers: ReadonlyArray<"memory" | "colo" | "kv">;
  routes: CompiledRoute[];
  pools: ReadonlyMap<string, PoolConfig>;
  monitors: ReadonlyMap<string, MonitorConfig>;
  adminPrefix: string;
  observability: ObservabilityConfig;
  coordination: CoordinationConfig;
  /** Route tests: run by `npm run check`, never by the worker. */
  tests: RouteTest[];
}

export type ConfigValidation = { ok: true; config: CompiledConfig } | { ok: false; problems: string[] };

type Path = ReadonlyArray<PropertyKey>;

export function formatPath(path: Path): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text ? `.${String(segment)}` : String(segment);
  }
  return text || "(root)";
}

export function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>, prefix: Path = []): string[] {
  return issues.map((issue) => {
    // A bad record key arrives as "Invalid key in record" wrapping the key schema's own message.
    const message = issue.code === "invalid_key" && issue.issues.length > 0 ? issue.issues.map((inner) => inner.message).join("; ") : issue.message;
    return `${formatPath([...prefix, ...issue.path])}: ${message}`;
  });
}

/** `OUTPOST_ORIGINS`: origin URLs as a JSON array or separated by commas or white space. */
export function parseOriginList(value: string): { origins: string[]; problems: string[] } {
  const trimmed = value.trim();
  let origins: unknown;
  if (trimmed.startsWith("[")) {
    try {
      origins = JSON.parse(trimmed);
    } catch {
      return { origins: [], problems: ["OUTPOST_ORIGINS: not valid JSON"] };
    }
  } else {
    origins = trimmed.split(/[\s,]+/).filter(Boolean);
  }
  if (!Array.isArray(origins) || origins.length === 0) {
    return { origins: [], problems: ["OUTPOST_ORIGINS: must list at least one origin URL"] };
  }
  const problems: string[] = [];
  origins.forEach((origin, index) => {
    const result = originAddressSchema.safeParse(origin);
    if (!result.success) problems.push(...formatIssues(result.error.issues, ["OUTPOST_ORIGINS", index]));
  });
  return { origins: origins as string[], problems };
}

/**
 * The configuration `npm start -- --origin a --origin b` runs: pool "primary" (a), then pools
 * "backup-1", "backup-2", ... in order, behind one catch-all route. Replaces `pools` and `routes`.
 * Every pool is health-checked by ORIGIN_LIST_MONITOR (GET `healthPath`, default "/"), so a down
 * primary is skipped before a visitor's request has to time out on it.
 */
export function configForOriginList(origins: string[], base: Record<string, unknown> = {}, healthPath?: string): OutpostConfigInput {
  const monitor = { ...ORIGIN_LIST_MONITOR, ...(healthPath === undefined ? {} : { path: healthPath }) };
  const pools = origins.map((address, index) => {
    const name = index === 0 ? "primary" : `backup-${index}`;
    return { name, origins: [{ name, address }], monitor: monitor.name };
  });
  const baseMonitors = Array.isArray(base.monitors) ? (base.monitors as OutpostConfigInput["monitors"] & unknown[]) : [];
  return {
    ...(base as Partial<OutpostConfigInput>),
    pools,
    monitors: [...baseMonitors.filter((m) => (m as { name?: unknown }).name !== monitor.name), monitor],
    routes: [{ name: "default", hosts: ["*"], path: "/*", default_pools: pools.map((pool) => pool.name) }],
  };
}

export function validateConfig(raw: unknown, pathPrefix: Path = []): ConfigValidation {
  const parsed = outpostConfigSchema.safeParse(raw);
  const problems = parsed.success ? [] : formatIssues(parsed.error.issues, pathPrefix);
  // Cross-references are checked on the raw input too, so one run reports shape and reference
  // problems together.
  for (const { path, message } of crossReferenceProblems(raw)) problems.push(`${formatPath([...pathPrefix, ...path])}: ${message}`);
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  return { ok: true, config: compile(parsed.data) };
}

interface Problem {
  path: Path;
  message: string;
}

/** Reads the raw input defensively: anything of the wrong shape was already reported by the schema. */
function crossReferenceProblems(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  const report = (path: Path, message: string) => problems.push({ path, message });
  const pools = uniqueNames(listAt(raw, "pools"), ["pools"], report);
  const monitors = uniqueNames(listAt(raw, "monitors"), ["monitors"], report);
  uniqueNames(listAt(raw, "routes"), ["routes"], report);

  listAt(raw, "pools").forEach((pool, poolIndex) => {
    uniqueNames(listAt(pool, "origins"), ["pools", poolIndex, "origins"], report);
    const monitor = field(pool, "monitor");
    if (typeof monitor === "string" && !monitors.has(monitor)) {
      report(["pools", poolIndex, "monitor"], `unknown monitor "${monitor}"`);
    }
  });

  listAt(raw, "routes").forEach((route, routeIndex) => {
    const at = (...path: Path) => ["routes", routeIndex, ...path];
    const defaultPools = listAt(route, "default_pools");
    defaultPools.forEach((name, index) => {
      if (typeof name === "string" && !pools.has(name)) report(at("default_pools", index), `unknown pool "${name}"`);
    });
    for (const level of GEO_LEVELS) {
      const table = field(route, `${level}_pools`);
      if (typeof table !== "object" || table === null) continue;
      for (const [key, names] of Object.entries(table)) {
        if (!Array.isArray(names)) continue;
        names.forEach((name, index) => {
          if (typeof name === "string" && !pools.has(name)) report(at(`${level}_pools`, key, index), `unknown pool "${name}"`);
        });
      }
    }
    const weights = field(field(route, "random_steering"), "pool_weights");
    if (typeof weights === "object" && weights !== null) {
      for (const name of Object.keys(weights)) {
        if (!pools.has(name)) report(at("random_steering", "pool_weights", name), `unknown pool "${name}"`);
      }
    }
    if (field(route, "steering_policy") === "proximity") {
      const located = defaultPools.some((name) => typeof name === "string" && typeof field(pools.get(name), "latitude") === "number");
      if (!located) report(at("steering_policy"), "proximity needs latitude and longitude on at least one of default_pools");
    }
    const fallback = field(route, "fallback_pool");
    if (typeof fallback === "string" && !pools.has(fallback)) report(at("fallback_pool"), `unknown pool "${fallback}"`);
    const routePools = defaultPools.flatMap((name) => (typeof name === "string" ? (pools.get(name) ?? []) : []));
    const routeOrigins = routePools.flatMap((pool) => listAt(pool, "origins"));
    if (routeOrigins.length > 0 && routeOrigins.every((origin) => field(origin, "enabled") === false)) {
      report(at("default_pools"), "every origin of these pools is disabled");
    }

    const path = field(route, "path");
    const hosts = field(route, "hosts");
    if (typeof path === "string") {
      try {
        new URLPattern({ pathname: path });
      } catch (error) {
        report(at("path"), `invalid pattern "${path}" (${describe(error)})`);
        return;
      }
    }
    // hosts defaults to ["*"]; a missing list was already checked with the path above.
    if (Array.isArray(hosts) && (path === undefined || typeof path === "string")) {
      hosts.forEach((hostname, index) => {
        if (typeof hostname !== "string") return;
        try {
          new URLPattern({ hostname, pathname: path ?? "/*" });
        } catch (error) {
          report(at("hosts", index), `invalid pattern "${hostname}" with path "${path ?? "/*"}" (${describe(error)})`);
        }
      });
    }
  });
  return problems;
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function listAt(value: unknown, key: string): unknown[] {
  const list = field(value, key);
  return Array.isArray(list) ? list : [];
}

function uniqueNames(items: unknown[], listPath: Path, report: (path: Path, message: string) => void): Map<string, unknown> {
  const byName = new Map<string, unknown>();
  items.forEach((item, index) => {
    const name = field(item, "name");
    if (typeof name !== "string") return;
    if (byName.has(name)) report([...listPath, index, "name"], `duplicate name "${name}"`);
    else byName.set(name, item);
  });
  return byName;
}

/** Only called on a config that passed every check above. */
function compile(config: OutpostConfig): CompiledConfig {
  const pools = new Map(config.pools.map((pool) => [pool.name, pool]));
  const monitors = new Map(config.monitors.map((monitor) => [monitor.name, monitor]));
  const poolNamed = (name: string): PoolConfig => pools.get(name)!;
  const resolveTable = (table: Partial<Record<string, string[]>> | undefined) =>
    new Map(Object.entries(table ?? {}).map(([key, names]) => [key, (names ?? []).map(poolNamed)]));
  const routes = config.routes.map((route) => ({
    ...route,
    matchers: route.hosts.map((hostname) => compileUrlMatcher(hostname, route.path)),
    pools: route.default_pools.map(poolNamed),
    fallbackPool: route.fallback_pool === undefined ? undefined : poolNamed(route.fallback_pool),
    geoPools: {
      pop: resolveTable(route.pop_pools),
      country: resolveTable(route.country_pools),
      region: resolveTable(route.region_pools),
      continent: resolveTable(route.continent_pools),
    },
  }));
  return {
    cacheVersion: config.cache_version,
    cacheTiers: config.cache_tiers,
    routes,
    pools,
    monitors,
    adminPrefix: config.admin.path_prefix,
    observability: config.observability,
    coordination: config.coordination,
    tests: config.tests,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

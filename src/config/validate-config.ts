// Turns raw configuration into a compiled config, or into the complete list of problems.
// Every problem names its path (`routes[2].default_pools[0]: unknown pool "eu-west"`) so one run of
// `npm run check` or one log line shows everything that is wrong.
import type { z } from "zod";
import {
  originAddressSchema,
  outpostConfigSchema,
  type MonitorConfig,
  type OutpostConfig,
  type OutpostConfigInput,
  type PoolConfig,
  type RouteConfig,
} from "./schema.ts";

export interface CompiledRoute extends RouteConfig {
  /** One URLPattern per entry of `hosts`, each combined with `path`. */
  patterns: URLPattern[];
  /** default_pools resolved, in failover order. */
  pools: PoolConfig[];
  fallbackPool: PoolConfig | undefined;
}

export interface CompiledConfig {
  routes: CompiledRoute[];
  pools: ReadonlyMap<string, PoolConfig>;
  monitors: ReadonlyMap<string, MonitorConfig>;
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

function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>, prefix: Path = []): string[] {
  return issues.map((issue) => `${formatPath([...prefix, ...issue.path])}: ${issue.message}`);
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
 */
export function configForOriginList(origins: string[], base: Record<string, unknown> = {}): OutpostConfigInput {
  const pools = origins.map((address, index) => {
    const name = index === 0 ? "primary" : `backup-${index}`;
    return { name, origins: [{ name, address }] };
  });
  return {
    ...(base as Partial<OutpostConfigInput>),
    pools,
    routes: [{ name: "default", hosts: ["*"], path: "/*", default_pools: pools.map((pool) => pool.name) }],
  };
}

export function validateConfig(raw: unknown, pathPrefix: Path = []): ConfigValidation {
  const parsed = outpostConfigSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: formatIssues(parsed.error.issues, pathPrefix) };
  const problems: string[] = [];
  const report = (path: Path, message: string) => problems.push(`${formatPath([...pathPrefix, ...path])}: ${message}`);
  const config = parsed.data;

  const pools = indexByName(config.pools, "pools", report);
  const monitors = indexByName(config.monitors, "monitors", report);
  indexByName(config.routes, "routes", report);
  config.pools.forEach((pool, poolIndex) => {
    indexByName(pool.origins, `pools[${poolIndex}].origins`, report);
    if (pool.monitor !== undefined && !monitors.has(pool.monitor)) {
      report(["pools", poolIndex, "monitor"], `unknown monitor "${pool.monitor}"`);
    }
  });

  const routes = config.routes.map((route, routeIndex) =>
    compileRoute(route, pools, (path, message) => report(["routes", routeIndex, ...path], message)),
  );
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: { routes, pools, monitors } };
}

function indexByName<T extends { name: string }>(
  items: T[],
  listPath: string,
  report: (path: Path, message: string) => void,
): Map<string, T> {
  const byName = new Map<string, T>();
  items.forEach((item, index) => {
    if (byName.has(item.name)) report([`${listPath}[${index}]`, "name"], `duplicate name "${item.name}"`);
    else byName.set(item.name, item);
  });
  return byName;
}

function compileRoute(
  route: RouteConfig,
  pools: Map<string, PoolConfig>,
  report: (path: Path, message: string) => void,
): CompiledRoute {
  const patterns: URLPattern[] = [];
  route.hosts.forEach((hostname, index) => {
    try {
      patterns.push(new URLPattern({ hostname, pathname: route.path }));
    } catch (error) {
      report(["hosts", index], `invalid pattern "${hostname}" with path "${route.path}" (${describe(error)})`);
    }
  });
  const resolvePool = (name: string, path: Path): PoolConfig | undefined => {
    const pool = pools.get(name);
    if (!pool) report(path, `unknown pool "${name}"`);
    return pool;
  };
  const routePools = route.default_pools.flatMap((name, index) => resolvePool(name, ["default_pools", index]) ?? []);
  const fallbackPool = route.fallback_pool === undefined ? undefined : resolvePool(route.fallback_pool, ["fallback_pool"]);
  if (routePools.every((pool) => pool.origins.every((origin) => !origin.enabled))) {
    if (routePools.length > 0) report(["default_pools"], "every origin of these pools is disabled");
  }
  return { ...route, patterns, pools: routePools, fallbackPool };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type { OutpostConfig };

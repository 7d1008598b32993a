// The deploy-time lint: configurations that are valid but will misbehave on Cloudflare's platform.
// Pure functions over a compiled configuration and a few facts from wrangler.toml (is this the
// production environment, which secrets it declares, its cron triggers, the plan assumed). Each rule
// returns warnings that name the key path, why it matters on this platform, and how to fix it.
// `npm run check` prints them; `--strict` (CI, `npm run deploy`) turns them into errors.
import type { PoolConfig } from "./schema.ts";
import { longestCronGapSeconds } from "./cron-schedule.ts";
import type { CompiledConfig, CompiledRoute } from "./validate-config.ts";

/** Workers plans by their per-request subrequest limit (fetch, KV and Cache API calls all count). */
export const SUBREQUEST_LIMITS = { free: 50, paid: 10_000 } as const;
export type WorkersPlan = keyof typeof SUBREQUEST_LIMITS;
/** What `npm run check` assumes without `--plan`: the stricter limit, so a free account is never surprised. */
export const DEFAULT_PLAN: WorkersPlan = "free";

/**
 * Subrequests one request can make besides its origin attempts: the location tier (match + put),
 * KV (the key, a Vary variant, a put of each), the health snapshot and the purge ledger (its location
 * copy and its KV copy).
 */
export const PIPELINE_SUBREQUESTS = 9;
/** KV: a write becomes visible in other locations after up to ~60 s (eventual consistency). */
export const KV_PROPAGATION_SECONDS = 60;
/** KV's minimum expirationTtl. */
export const KV_MIN_TTL_SECONDS = 60;
/** KV's value limit, less room for the entry's own framing. */
export const KV_MAX_OBJECT_BYTES = 25 * 1024 * 1024 - 65_536;
/** Durable Objects requests beyond the paid plan's included million: $0.15 per million (developers.cloudflare.com/durable-objects/platform/pricing). */
export const DURABLE_OBJECT_REQUEST_USD_PER_MILLION = 0.15;
/** Below this poll interval the purge coordinator costs more than ~$0.39 per active location per month. */
export const CHEAP_PURGE_POLL_INTERVAL_MS = 1_000;
/** Locations assumed for the cost estimate: a site with worldwide traffic is active in most of Cloudflare's ~300 cities. */
export const ASSUMED_ACTIVE_LOCATIONS = 300;
/** A Durable Object's soft limit: about 1,000 requests per second for one object (all polls go to one coordinator). */
export const DURABLE_OBJECT_SOFT_LIMIT_RPS = 1_000;
const SECONDS_PER_MONTH = 30 * 86_400;
/** The secret that opens the admin API. */
export const ADMIN_TOKEN_SECRET = "OUTPOST_ADMIN_TOKEN";
/** Request headers with (nearly) one value per visitor: as a key dimension, every visitor gets an entry of their own. */
export const HIGH_CARDINALITY_HEADERS: ReadonlySet<string> = new Set([
  "user-agent",
  "cookie",
  "authorization",
  "referer",
  "x-forwarded-for",
  "cf-connecting-ip",
  "true-client-ip",
  "x-real-ip",
  "cf-ray",
  "x-request-id",
]);

/** What wrangler.toml says about the environment being linted. */
export interface DeployFacts {
  /** Production: an [env.*] whose name starts with "prod". */
  production: boolean;
  /** `secrets.required` of the environment (not inherited by [env.*] blocks). */
  requiredSecrets: ReadonlyArray<string>;
  /** `triggers.crons` (inherited by [env.*] blocks). */
  crons: ReadonlyArray<string>;
  /** Whether the environment binds a Durable Object: otherwise shared state rides on KV alone. */
  durableObjects: boolean;
  plan: WorkersPlan;
}

export interface LintWarning {
  /** Stable rule id, e.g. "deadline-below-timeout". */
  rule: string;
  /** Key path, relative to [vars.OUTPOST] unless it names a wrangler key (secrets, triggers). */
  path: string;
  /** What is wrong, with the values. */
  message: string;
  /** Why it matters on Cloudflare's platform. */
  why: string;
  /** How to fix it. */
  fix: string;
}

type Rule = (config: CompiledConfig, facts: DeployFacts) => LintWarning[];

const routePath = (index: number, key: string) => `routes[${index}].${key}`;

/** Every pool one of the route's requests may try, in any steering outcome. */
function reachablePools(route: CompiledRoute): PoolConfig[] {
  const tables = Object.values(route.geoPools).flatMap((table) => [...table.values()].flat());
  return [...new Set([...tables, ...route.pools, ...(route.fallbackPool ? [route.fallbackPool] : [])])];
}

const enabledOrigins = (pools: PoolConfig[]) => pools.reduce((count, pool) => count + pool.origins.filter((origin) => origin.enabled).length, 0);

const deadlineRule: Rule = (config) =>
  config.routes.flatMap((route, index): LintWarning[] => {
    const { deadline_ms: deadline, origin_timeout_ms: timeout } = route;
    if (deadline < timeout) {
      return [{
        rule: "deadline-below-timeout",
        path: routePath(index, "deadline_ms"),
        message: `deadline_ms (${deadline}) is below origin_timeout_ms (${timeout}) on route "${route.name}"`,
        why: "the deadline cuts every attempt short, so origin_timeout_ms never applies and no second origin is ever tried after a slow first one",
        fix: `raise deadline_ms to at least ${2 * timeout} (two attempts) or lower origin_timeout_ms below ${deadline}`,
      }];
    }
    if (enabledOrigins(reachablePools(route)) > 1 && deadline < 2 * timeout) {
      return [{
        rule: "deadline-fits-no-retry",
        path: routePath(index, "deadline_ms"),
        message: `deadline_ms (${deadline}) cannot fit a retry after one origin_timeout_ms (${timeout}) on route "${route.name}"`,
        why: `an origin that hangs uses the whole origin_timeout_ms, leaving the next origin ${deadline - timeout} ms: failover to another pool mostly ends in a 504`,
        fix: `raise deadline_ms to ${2 * timeout} or more, or lower origin_timeout_ms to ${Math.floor(deadline / 2)} or less`,
      }];
    }
    return [];
  });

const subrequestRule: Rule = (config, facts) =>
  config.routes.flatMap((route, index): LintWarning[] => {
    const attempts = enabledOrigins(reachablePools(route));
    const limit = SUBREQUEST_LIMITS[facts.plan];
    if (attempts + PIPELINE_SUBREQUESTS <= limit) return [];
    return [{
      rule: "subrequest-limit",
      path: routePath(index, "default_pools"),
      message: `route "${route.name}" can try ${attempts} origins, plus up to ${PIPELINE_SUBREQUESTS} cache and state subrequests: more than the ${facts.plan} plan's ${limit} per request`,
      why: "Workers fail every subrequest beyond the plan's per-request limit (fetch, KV and Cache API calls alike), so the end of the failover chain is never reached",
      fix: `shorten the chain (fewer pools in default_pools and the geo tables, or fewer origins per pool)${facts.plan === "free" ? ", or, on a paid plan, run `npm run check -- --plan paid`" : ""}`,
    }];
  });

const usesKvAlone = (config: CompiledConfig, facts: DeployFacts) => config.cacheTiers.includes("kv") && !facts.durableObjects;

const kvPropagationRule: Rule = (config, facts) => {
  if (!usesKvAlone(config, facts)) return [];
  return config.routes.flatMap((route, index): LintWarning[] => {
    const window = route.cache.stale_while_revalidate_seconds;
    if (!route.cache.enabled || window <= 0 || window >= KV_PROPAGATION_SECONDS) return [];
    return [{
      rule: "swr-below-kv-propagation",
      path: routePath(index, "cache.stale_while_revalidate_seconds"),
      message: `stale_while_revalidate_seconds (${window}) on route "${route.name}" is shorter than KV's propagation (~${KV_PROPAGATION_SECONDS} s)`,
      why: "a refresh stored by one location reaches the others through KV after up to a minute; until then they read the old copy, whose window has already closed, and wait for the origin instead of serving stale",
      fix: `raise stale_while_revalidate_seconds to ${KV_PROPAGATION_SECONDS} or more; purges travel the same way, so expect them everywhere within about a minute`,
    }];
  });
};

const kvTtlRule: Rule = (config) => {
  if (!config.cacheTiers.includes("kv")) return [];
  return config.routes.flatMap((route, index): LintWarning[] => {
    if (!route.cache.enabled) return [];
    const ttls: Array<[string, number]> = [
      ...(route.cache.edge_ttl_seconds !== undefined ? [["cache.edge_ttl_seconds", route.cache.edge_ttl_seconds] as [string, number]] : []),
      ...Object.entries(route.cache.status_ttl_seconds).map(([status, ttl]): [string, number] => [`cache.status_ttl_seconds.${status}`, ttl]),
    ];
    return ttls
      .filter(([, ttl]) => ttl > 0 && ttl < KV_MIN_TTL_SECONDS)
      .map(([key, ttl]) => ({
        rule: "kv-ttl-minimum",
        path: routePath(index, key),
        message: `${key} (${ttl}) on route "${route.name}" is under KV's ${KV_MIN_TTL_SECONDS} s minimum expirationTtl`,
        why: `KV keeps every entry at least ${KV_MIN_TTL_SECONDS} s, and a copy refreshed every ${ttl} s is rewritten by each location that misses: KV allows one write per second per key (429 beyond) and bills every write, while other locations see the new copy only after ~${KV_PROPAGATION_SECONDS} s`,
        fix: `use ${KV_MIN_TTL_SECONDS} s or more, or keep the short TTL and add stale_while_revalidate_seconds so refreshes happen in the background`,
      }));
  });
};

const objectSizeRule: Rule = (config) => {
  if (!config.cacheTiers.includes("kv")) return [];
  return config.routes.flatMap((route, index): LintWarning[] => {
    const bytes = route.cache.max_object_bytes;
    if (!route.cache.enabled || bytes <= KV_MAX_OBJECT_BYTES) return [];
    return [{
      rule: "max-object-bytes-kv",
      path: routePath(index, "cache.max_object_bytes"),
      message: `max_object_bytes (${bytes}) on route "${route.name}" is above what a KV value can hold (${KV_MAX_OBJECT_BYTES}: 25 MiB less the entry's framing)`,
      why: "KV rejects values over 25 MiB: such objects are fetched from the origin on every miss in every location, and each failed write is logged",
      fix: `lower max_object_bytes to ${KV_MAX_OBJECT_BYTES} or less, or drop "kv" from cache_tiers so large objects live in the location tier only`,
    }];
  });
};

/** The pools a route's first choice can be, over every steering outcome. */
function firstChoices(route: CompiledRoute): Set<string> {
  const first = new Set<string>([route.pools[0]!.name]);
  if (route.steering_policy === "geo") for (const table of Object.values(route.geoPools)) for (const pools of table.values()) if (pools[0]) first.add(pools[0].name);
  if (route.steering_policy === "proximity") for (const pool of route.pools) if (pool.latitude !== undefined) first.add(pool.name);
  return first;
}

const geoKeyRule: Rule = (config) =>
  config.routes.flatMap((route, index): LintWarning[] => {
    if (route.steering_policy !== "geo" && route.steering_policy !== "proximity") return [];
    if (!route.cache.enabled || route.cache.key.country || route.same_content) return [];
    const pools = firstChoices(route);
    if (pools.size < 2) return [];
    return [{
      rule: "geo-route-cache-key",
      path: routePath(index, "cache.key.country"),
      message: `route "${route.name}" steers by ${route.steering_policy === "geo" ? "geography" : "proximity"} to ${pools.size} pools (${[...pools].join(", ")}) but its cache key has no country`,
      why: "KV is global: the first visitor's answer is stored once and served everywhere, so visitors steered to one pool get another pool's content until it expires",
      fix: "if the pools are replicas, declare same_content = true on the route; if their content differs by place, set cache = { key = { country = true } }",
    }];
  });

const cardinalityRule: Rule = (config) =>
  config.routes.flatMap((route, index) =>
    route.cache.enabled
      ? route.cache.key.headers.flatMap((header, position): LintWarning[] => {
          if (!HIGH_CARDINALITY_HEADERS.has(header)) return [];
          return [{
            rule: "high-cardinality-key",
            path: routePath(index, `cache.key.headers[${position}]`),
            message: `route "${route.name}" keys its cache on ${header}, which has close to one value per visitor`,
            why: "every distinct value is a separate entry in every tier: the hit ratio falls towards zero while KV writes (1 per second per key, billed) and isolate memory (128 MB) fill up",
            fix: header === "cookie" ? "list the few cookies that change the content in cache.key.cookies (an allow-list) instead of the whole Cookie header" : `key on a coarse dimension the origin derives from ${header} (a device class header, for example), or bypass the cache for these requests`,
          }];
        })
      : [],
  );

/** The literal start of a route's path pattern, up to its first wildcard or parameter. */
function literalPrefix(path: string): string {
  const end = path.search(/[*:({]/);
  return end === -1 ? path : path.slice(0, end);
}

const adminRule: Rule = (config, facts) => {
  const warnings: LintWarning[] = [];
  if (facts.production && !facts.requiredSecrets.includes(ADMIN_TOKEN_SECRET)) {
    warnings.push({
      rule: "admin-token-secret",
      path: "secrets.required",
      message: `the production environment does not declare ${ADMIN_TOKEN_SECRET} in secrets.required`,
      why: "without the secret the admin API is closed: no purge, status or explain when something goes wrong, and nothing tells you before the first incident",
      fix: `add secrets = { required = ["${ADMIN_TOKEN_SECRET}"] } to the environment and run \`npm run wrangler -- secret put ${ADMIN_TOKEN_SECRET} --env <name>\``,
    });
  }
  const prefix = config.adminPrefix;
  config.routes.forEach((route, index) => {
    const literal = literalPrefix(route.path).replace(/\/$/, "");
    if (literal === "" || !(`${literal}/`.startsWith(`${prefix}/`) || `${prefix}/`.startsWith(`${literal}/`))) return;
    warnings.push({
      rule: "admin-prefix-collision",
      path: routePath(index, "path"),
      message: `route "${route.name}" (path "${route.path}") overlaps the admin prefix "${prefix}"`,
      why: "requests under the admin prefix go to the admin API before any route is matched: that part of the site is unreachable through Outpost",
      fix: "move the admin API with admin = { path_prefix = \"/__something-unused\" }, or change the route's path",
    });
  });
  return warnings;
};

const monitorRule: Rule = (config, facts) => {
  const used = new Set([...config.pools.values()].flatMap((pool) => (pool.monitor ? [pool.monitor] : [])));
  if (used.size === 0) return [];
  if (facts.crons.length === 0) {
    return [{
      rule: "monitor-without-cron",
      path: "triggers.crons",
      message: `monitors (${[...used].join(", ")}) are configured but the environment has no cron trigger`,
      why: "active health checks run only from the scheduled handler: without a trigger no origin is ever probed",
      fix: 'add [triggers] crons = ["* * * * *"] to wrangler.toml',
    }];
  }
  const gapSeconds = longestCronGapSeconds(facts.crons);
  if (gapSeconds === undefined) return [];
  return [...config.monitors.values()].flatMap((monitor, index): LintWarning[] => {
    if (!used.has(monitor.name) || monitor.interval_seconds >= gapSeconds) return [];
    return [{
      rule: "monitor-interval-cron",
      path: `monitors[${index}].interval_seconds`,
      message: `monitor "${monitor.name}" asks for a probe every ${monitor.interval_seconds} s but the cron trigger (${facts.crons.join(", ")}) fires only every ${gapSeconds} s`,
      why: "probes run only when the cron fires, and a verdict older than a few intervals is not trusted: origins are judged on stale probes, or not at all",
      fix: `set interval_seconds to ${gapSeconds} or more, or make the trigger fire more often (for example "* * * * *")`,
    }];
  });
};

/** Monthly Durable Object requests of one location polling an object once per interval, and their price. */
function objectPollCost(intervalMs: number): { requestsPerMonth: number; usdPerMonth: number } {
  const requestsPerMonth = (SECONDS_PER_MONTH * 1000) / intervalMs;
  return { requestsPerMonth, usdPerMonth: (requestsPerMonth / 1e6) * DURABLE_OBJECT_REQUEST_USD_PER_MILLION };
}

const purgePollRule: Rule = (config) => {
  const { purge_coordinator: enabled, purge_poll_interval_ms: interval } = config.coordination;
  if (!enabled || interval >= CHEAP_PURGE_POLL_INTERVAL_MS) return [];
  const { requestsPerMonth, usdPerMonth } = objectPollCost(interval);
  const fleetRps = Math.round((ASSUMED_ACTIVE_LOCATIONS * 1000) / interval);
  return [{
    rule: "purge-poll-cost",
    path: "coordination.purge_poll_interval_ms",
    message: `purge_poll_interval_ms (${interval}) makes every active location call the purge coordinator ${(1000 / interval).toFixed(1)} times a second: ${(requestsPerMonth / 1e6).toFixed(1)} million requests a month per location, about $${usdPerMonth.toFixed(2)} per location per month ($${(usdPerMonth * ASSUMED_ACTIVE_LOCATIONS).toFixed(0)} for ${ASSUMED_ACTIVE_LOCATIONS} locations)`,
    why: `each poll is a billed Durable Objects request ($${DURABLE_OBJECT_REQUEST_USD_PER_MILLION} per million), and all of them go to one object: ${ASSUMED_ACTIVE_LOCATIONS} locations make ${fleetRps} requests per second${fleetRps > DURABLE_OBJECT_SOFT_LIMIT_RPS ? `, above a Durable Object's ~${DURABLE_OBJECT_SOFT_LIMIT_RPS} per second soft limit (overloaded polls fall back to KV)` : ""}`,
    fix: `raise purge_poll_interval_ms to ${CHEAP_PURGE_POLL_INTERVAL_MS} or more: purges then reach every location within about ${(1.5 * CHEAP_PURGE_POLL_INTERVAL_MS) / 1000} s (1.5 intervals; docs/coordination.md)`,
  }];
};

/**
 * Shared health polls each pool's object at most once per interval per location, and only while the
 * location has misses: the worst case (misses every interval) is one poll per pool per interval.
 */
const sharedHealthPollRule: Rule = (config) => {
  const { shared_health: enabled, shared_health_poll_interval_ms: interval } = config.coordination;
  if (!enabled || interval >= CHEAP_PURGE_POLL_INTERVAL_MS) return [];
  const pools = config.pools.size;
  const { requestsPerMonth, usdPerMonth } = objectPollCost(interval);
  return [{
    rule: "shared-health-poll-cost",
    path: "coordination.shared_health_poll_interval_ms",
    message: `shared_health_poll_interval_ms (${interval}) lets every location with misses call each of the ${pools} pool health object(s) ${(1000 / interval).toFixed(1)} times a second: up to ${((requestsPerMonth * pools) / 1e6).toFixed(1)} million requests a month per location, about $${(usdPerMonth * pools).toFixed(2)} per location per month ($${(usdPerMonth * pools * ASSUMED_ACTIVE_LOCATIONS).toFixed(0)} for ${ASSUMED_ACTIVE_LOCATIONS} locations)`,
    why: `each poll is a billed Durable Objects request ($${DURABLE_OBJECT_REQUEST_USD_PER_MILLION} per million); a busy site has misses in every interval, so the worst case is the usual case`,
    fix: `raise shared_health_poll_interval_ms to ${CHEAP_PURGE_POLL_INTERVAL_MS} or more: a demotion then reaches every location within about ${(2 * CHEAP_PURGE_POLL_INTERVAL_MS) / 1000} s (2 intervals; docs/coordination.md#shared-health)`,
  }];
};

const RULES: Rule[] = [deadlineRule, subrequestRule, kvPropagationRule, kvTtlRule, objectSizeRule, geoKeyRule, cardinalityRule, adminRule, monitorRule, purgePollRule, sharedHealthPollRule];

export function lintConfig(config: CompiledConfig, facts: DeployFacts): LintWarning[] {
  return RULES.flatMap((rule) => rule(config, facts));
}

/** Two lines per warning: what and where, then why and how to fix it. */
export function formatLintWarning(warning: LintWarning): string {
  return `${warning.path}: ${warning.message} [${warning.rule}]\n  why: ${warning.why}\n  fix: ${warning.fix}`;
}

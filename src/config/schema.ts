// The only home of Outpost's configuration shape and its defaults.
// Names follow Cloudflare Load Balancing's vocabulary (pools, origins, default_pools, fallback_pool,
// steering_policy, monitors) so an operator can read and migrate configs at first sight; durations carry
// their unit in the name.
// zod/mini rather than zod: the same validator, tree-shakable (7 KB gzip instead of 90 KB in the bundle).
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { CONTINENT_CODES, REGION_CODES } from "../steering/regions.ts";

// zod/mini ships without messages; load the English ones so every problem reads as a sentence.
z.config(en());
// Outpost's own wording for the common problems (issue-messages.ts); checks with a message keep theirs.
import "./issue-messages.ts";

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const nameSchema = z
  .string()
  .check(z.regex(NAME_PATTERN, "must be 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit"));

/** An origin's base URL: absolute http(s), no credentials, query or fragment (the request supplies those). */
export const originAddressSchema = z.string().check(
  z.superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: `not an absolute URL: "${value}"` });
      return;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      ctx.addIssue({ code: "custom", message: `must use http or https, not "${url.protocol.slice(0, -1)}"` });
    }
    if (url.username || url.password) ctx.addIssue({ code: "custom", message: "must not contain credentials" });
    if (url.search || url.hash) ctx.addIssue({ code: "custom", message: "must not contain a query or fragment" });
  }),
);

const hostnameSchema = z.string().check(z.regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, "must be a hostname, optionally with a port"));

export const originSchema = z.strictObject({
  name: nameSchema,
  address: originAddressSchema,
  /** Share of traffic within the pool for weighted steering (0-1, as in Cloudflare Load Balancing). */
  weight: z._default(z.number().check(z.minimum(0), z.maximum(1)), 1),
  /** A disabled origin receives no traffic at all. */
  enabled: z._default(z.boolean(), true),
  /** Request headers sent to this origin; only Host is supported (Load Balancing's shape: Host = ["name"]). */
  header: z.optional(z.strictObject({ Host: z.array(hostnameSchema).check(z.length(1)) })),
});

export const monitorSchema = z.strictObject({
  name: nameSchema,
  method: z._default(z.enum(["GET", "HEAD"]), "GET"),
  path: z._default(z.string().check(z.startsWith("/", "must start with /")), "/"),
  /** Comma-separated codes or classes, for example "2xx" or "200,301". */
  expected_codes: z._default(
    z.string().check(z.regex(/^\s*([1-5](xx|\d\d))(\s*,\s*[1-5](xx|\d\d))*\s*$/, 'must list status codes or classes, e.g. "2xx" or "200,204"')),
    "2xx",
  ),
  interval_seconds: z._default(z.int().check(z.minimum(60, "must be at least 60 (the cron trigger's granularity)"), z.maximum(3600)), 60),
  timeout_ms: z._default(z.int().check(z.minimum(100), z.maximum(30_000)), 5_000),
  retries: z._default(z.int().check(z.minimum(0), z.maximum(5)), 1),
});

/** The monitor of every pool `npm start -- --origin` (OUTPOST_ORIGINS) builds: GET / (or OUTPOST_HEALTH_PATH), any 2xx or 3xx, every 60 s. */
export const ORIGIN_LIST_MONITOR = { name: "origin-list", method: "GET", path: "/", expected_codes: "2xx,3xx", interval_seconds: 60 } as const;

export const ORIGIN_STEERING_POLICIES = ["random", "hash", "off"] as const;

/** Cloudflare's Durable Object location hints (where an object is created, near the pool's origins). */
export const LOCATION_HINTS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const;

export const shieldSchema = z.strictObject({
  /** Objects per pool; a key's hash picks one, so no object carries more than its share of the pool's misses. */
  shards: z._default(z.int().check(z.minimum(1), z.maximum(64)), 4),
  /** Where the objects are created (Durable Object locationHint): near the pool's origins. */
  location_hint: z.optional(z.enum(LOCATION_HINTS)),
  /** How long a location waits for the shield's response headers before fetching the origin itself. */
  timeout_ms: z._default(z.int().check(z.minimum(100), z.maximum(60_000)), 5_000),
  /** Requests one shield object handles at once (collapsed waiters included); past it, locations fetch the origin themselves. */
  max_in_flight: z._default(z.int().check(z.minimum(1), z.maximum(10_000)), 500),
});

export const poolSchema = z
  .strictObject({
    name: nameSchema,
    origins: z.array(originSchema).check(z.minLength(1, "a pool needs at least one origin")),
    /**
     * Which origin of the pool goes first: "random" (by weight, Load Balancing's default), "hash"
     * (by client IP, so a visitor sticks to one origin), "off" (the order listed). The others follow
     * in listed order as failover.
     */
    origin_steering: z.prefault(z.strictObject({ policy: z._default(z.enum(ORIGIN_STEERING_POLICIES), "random") }), {}),
    /**
     * Passive health: an origin's circuit opens for open_seconds after consecutive_failures connection
     * failures or timeouts in a row, or when error statuses (retry_on_statuses, or outside 200-599) make
     * up status_failure_ratio of at least status_minimum_requests answers on at least
     * status_minimum_paths distinct paths within status_window_seconds (Envoy's outlier detection).
     */
    circuit_breaker: z.prefault(
      z.strictObject({
        consecutive_failures: z._default(z.int().check(z.minimum(1), z.maximum(100)), 5),
        open_seconds: z._default(z.int().check(z.minimum(1), z.maximum(3600)), 30),
        /** The window over which answers are counted for the error-status rule. */
        status_window_seconds: z._default(z.int().check(z.minimum(1), z.maximum(3600)), 60),
        /** No circuit opens on statuses below this many answers in the window. */
        status_minimum_requests: z._default(z.int().check(z.minimum(1), z.maximum(100_000)), 20),
        /** The share of error statuses among the window's answers that opens the circuit. */
        status_failure_ratio: z._default(z.number().check(z.gt(0), z.maximum(1)), 0.5),
        /** Error statuses must come from this many distinct paths: one broken page never ejects an origin. */
        status_minimum_paths: z._default(z.int().check(z.minimum(1), z.maximum(100)), 3),
      }),
      {},
    ),
    /** Coordinates for proximity steering. */
    latitude: z.optional(z.number().check(z.minimum(-90), z.maximum(90))),
    longitude: z.optional(z.number().check(z.minimum(-180), z.maximum(180))),
    /** Name of a monitor in `monitors` that health-checks this pool's origins. */
    monitor: z.optional(nameSchema),
    /**
     * Origin shield (binding OUTPOST_SHIELD, docs/coordination.md): cache misses and revalidations
     * for this pool go to one OriginShield Durable Object per key shard, which collapses them across
     * locations, fetches the origin once and writes KV. `shield = {}` turns it on with the defaults.
     */
    shield: z.optional(shieldSchema),
  })
  .check(
    z.refine((pool) => (pool.latitude === undefined) === (pool.longitude === undefined), {
      message: "latitude and longitude must be set together",
      path: ["latitude"],
    }),
  );

const poolListSchema = z.array(nameSchema).check(z.minLength(1, "list at least one pool"));
const countryCodeSchema = z.string().check(z.regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE"));
const coloCodeSchema = z.string().check(z.regex(/^[A-Z]{3}$/, "must be a Cloudflare colo (IATA) code in upper case, e.g. FRA"));
const weightSchema = z.number().check(z.minimum(0), z.maximum(1));

const secondsSchema = z.int().check(z.minimum(0), z.maximum(31_536_000));
const headerNameSchema = z.string().check(z.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a header name"), z.toLowerCase());

/** What a route stores by default: see cache_statuses. */
export const DEFAULT_CACHE_STATUSES: ReadonlyArray<number> = [200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414];

/** Per-route cache policy (RFC 9111 semantics; every override is opt-in). */
export const cachePolicySchema = z.strictObject({
  /** Store and serve responses from the cache. Off: every request goes to the origin. */
  enabled: z._default(z.boolean(), true),
  /** Replaces the origin's freshness lifetime for responses that may be stored. */
  edge_ttl_seconds: z.optional(secondsSchema),
  /** Serve stale this long while refreshing in the background, when the origin sends no stale-while-revalidate. */
  stale_while_revalidate_seconds: z._default(secondsSchema, 0),
  /** Serve stale this long when origins fail, when the origin sends no stale-if-error (RFC 5861). */
  stale_if_error_seconds: z._default(secondsSchema, 86_400),
  /** Upper bound on serving stale while origins fail, whatever the origin's stale-if-error says. */
  max_stale_if_error_seconds: z.optional(secondsSchema),
  /** Add the cache key to Cache-Status (`key="…"`): for debugging, it reveals how keys are built. */
  expose_key: z._default(z.boolean(), false),
  /** Freshness for statuses that come without explicit freshness, e.g. { "404" = 30 } (negative caching); only statuses in cache_statuses. */
  status_ttl_seconds: z._default(z.record(z.string().check(z.regex(/^[1-5]\d\d$/, "must be a status code")), secondsSchema), {}),
  /**
   * The only statuses this route stores, whatever the freshness (a configured TTL never adds one). The
   * default: RFC 9110 §15.1's heuristically cacheable codes without 206 and 501, plus 302, 303 and 307
   * (stored only with explicit freshness). No 5xx and no 4xx a client can provoke (400, 403, 431).
   */
  cache_statuses: z._default(
    z.array(z.int().check(z.minimum(200), z.maximum(599), z.refine((status) => status !== 206 && status !== 304, "206 and 304 are never stored (a cache keeps whole responses)"))),
    [...DEFAULT_CACHE_STATUSES],
  ),
  /**
   * Store answers to requests with Authorization when the origin allows it with public, s-maxage or
   * must-revalidate (RFC 9111 §3.5). Off (default): never stored, since many origins send
   * must-revalidate on personal answers.
   */
  cache_authorized: z._default(z.boolean(), false),
  /** Requests carrying any of these cookies bypass the cache (logged-in users, carts). */
  bypass_cookies: z._default(z.array(z.string().check(z.minLength(1))), []),
  /**
   * Cookies that never personalise an answer (analytics, consent). An answer to a request with any
   * other cookie (outside key.cookies) is stored only with the origin's positive explicit freshness
   * or public; these do not count.
   */
  public_cookies: z._default(z.array(z.string().check(z.minLength(1))), []),
  /** Store responses that set cookies, without their Set-Cookie (only for truly public pages). */
  strip_set_cookie: z._default(z.boolean(), false),
  /** Treat the origin's `no-cache` as absent. Only for origins known to misuse it. */
  ignore_origin_no_cache: z._default(z.boolean(), false),
  /**
   * Request Cache-Control (max-age, max-stale, min-fresh, no-cache, only-if-cached): "ignore" (default:
   * visitors cannot force origin fetches) or "honor" (RFC 9111 §5.2.1).
   */
  request_cache_control: z._default(z.enum(["ignore", "honor"]), "ignore"),
  /**
   * A successful unsafe request on this route also invalidates (marks stale) the same-host URLs in
   * its response's Location / Content-Location (RFC 9111 §4.4), throttled per isolate. Read even
   * when `enabled` is false (an API route that changes pages other routes cache).
   */
  invalidate_location_headers: z._default(z.boolean(), false),
  /**
   * Larger objects stream through uncached. Up to the Cache API's 512 MiB; with the "kv" tier, KV's
   * 25 MiB value limit applies (`npm run check` warns above it).
   */
  max_object_bytes: z._default(z.int().check(z.minimum(1), z.maximum(512 * 1024 * 1024)), 10 * 1024 * 1024),
  /**
   * Which storage tiers take a fill (the hot tier always does): counts are origin requests for the
   * key in this isolate within window_seconds. Cache-busting query strings are fetched once each, so
   * by default they never cost a KV write.
   */
  admission: z.prefault(
    z.strictObject({
      /** The location tier (Cache API) stores a key from its Nth origin request in the window (1: the first). */
      colo_after_requests: z._default(z.int().check(z.minimum(1), z.maximum(100)), 1),
      /** KV stores a key from its Nth origin request in the window, or when a stored copy is refreshed. */
      kv_after_requests: z._default(z.int().check(z.minimum(1), z.maximum(100)), 2),
      /** How long this isolate counts a key's origin requests. */
      window_seconds: z._default(z.int().check(z.minimum(1), z.maximum(86_400)), 300),
      /** KV writes per minute per route per isolate (a bucket holding one minute's worth); 0: this route never writes KV. */
      kv_writes_per_minute: z._default(z.int().check(z.minimum(0), z.maximum(60_000)), 300),
    }),
    {},
  ),
  /** Query string normalisation for the cache key. */
  query: z.prefault(
    z.strictObject({
      /** Sort parameters so ?a=1&b=2 and ?b=2&a=1 share an entry. */
      sort: z._default(z.boolean(), true),
      /** When set, only these parameters are part of the key. */
      allow: z.optional(z.array(z.string())),
      /** Parameters never part of the key. */
      deny: z._default(z.array(z.string()), []),
      /** Drop utm_*, gclid, fbclid and similar tracking parameters. */
      strip_tracking: z._default(z.boolean(), true),
    }),
    {},
  ),
  /** Extra key dimensions, for routes whose content differs by them. */
  key: z.prefault(
    z.strictObject({
      headers: z._default(z.array(headerNameSchema), []),
      cookies: z._default(z.array(z.string().check(z.minLength(1))), []),
      country: z._default(z.boolean(), false),
    }),
    {},
  ),
}).check(
  // A TTL for a status the route never stores would silently do nothing.
  z.superRefine((policy, ctx) => {
    for (const status of Object.keys(policy.status_ttl_seconds)) {
      if (!policy.cache_statuses.includes(Number(status))) {
        ctx.addIssue({ code: "custom", path: ["status_ttl_seconds", status], message: `${status} is not in cache_statuses; list it there to store ${status} answers`, input: policy });
      }
    }
  }),
);

export const STEERING_POLICIES = ["off", "geo", "proximity", "random"] as const;

export const routeSchema = z.strictObject({
  name: nameSchema,
  /** Host patterns in URLPattern hostname syntax: "example.com", "*.example.com", "*". */
  hosts: z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), ["*"]),
  /** Path pattern in URLPattern pathname syntax: "/*", "/api/*", "/assets/:file". */
  path: z._default(z.string().check(z.startsWith("/", "must start with /")), "/*"),
  /** Pools in failover order. */
  default_pools: z.array(nameSchema).check(z.minLength(1, "a route needs at least one pool")),
  /** Tried after every default pool has failed. */
  fallback_pool: z.optional(nameSchema),
  /**
   * How the first pool is chosen; the rest of default_pools, then fallback_pool, follow as failover.
   * "off": default_pools in order. "geo": pop_pools, then country_pools, region_pools,
   * continent_pools, then default_pools. "proximity": nearest pool by latitude/longitude.
   * "random": weighted by random_steering.
   */
  steering_policy: z._default(z.enum(STEERING_POLICIES), "off"),
  /** geo: Cloudflare colo (request.cf.colo) -> pools. */
  pop_pools: z.optional(z.record(coloCodeSchema, poolListSchema)),
  /** geo: visitor country (request.cf.country) -> pools. */
  country_pools: z.optional(z.record(countryCodeSchema, poolListSchema)),
  /** geo: Load Balancing region code (derived from the visitor's country) -> pools. */
  region_pools: z.optional(z.partialRecord(z.enum(REGION_CODES), poolListSchema)),
  /** geo: visitor continent (request.cf.continent) -> pools. */
  continent_pools: z.optional(z.partialRecord(z.enum(CONTINENT_CODES), poolListSchema)),
  /** random: weight per pool; pools not listed get default_weight. */
  random_steering: z.prefault(
    z.strictObject({
      default_weight: z._default(weightSchema, 1),
      pool_weights: z._default(z.record(nameSchema, weightSchema), {}),
    }),
    {},
  ),
  /** Origin answers that count as failures: the next origin is tried (replayable requests only). */
  retry_on_statuses: z._default(z.array(z.int().check(z.minimum(500), z.maximum(599))), [502, 503, 504]),
  /** Request bodies up to this size (by Content-Length) are buffered so an idempotent request can be replayed. */
  max_replay_body_bytes: z._default(z.int().check(z.minimum(0), z.maximum(1_048_576)), 65_536),
  cache: z.prefault(cachePolicySchema, {}),
  /** The route's pools serve the same content (replicas): geo/proximity steering then needs no country in the cache key (read by `npm run check`). */
  same_content: z._default(z.boolean(), false),
  /** How long one origin attempt may take to send response headers before the next origin is tried. */
  origin_timeout_ms: z._default(z.int().check(z.minimum(1), z.maximum(300_000)), 15_000),
  /** Bound on all attempts of one request together, until response headers arrive. */
  deadline_ms: z._default(z.int().check(z.minimum(1), z.maximum(600_000)), 30_000),
});

/** The admin API (purge, status, explain, dashboard): open only when OUTPOST_ADMIN_TOKEN is set. */
export const adminSchema = z.strictObject({
  /** Reserved path prefix: requests under it are never forwarded to an origin. */
  path_prefix: z._default(
    z.string().check(z.regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must be a path such as "/__outpost" (no trailing slash)')),
    "/__outpost",
  ),
});

export const observabilitySchema = z.strictObject({
  /** Share of requests (0-1) logged as one JSON line each (`wrangler tail`); per-request logs cost money at scale. */
  request_log_sample_rate: z._default(z.number().check(z.minimum(0), z.maximum(1)), 0.01),
  /** Server-Timing on every proxied response (lookup, origin, total). */
  server_timing: z._default(z.boolean(), true),
});

/**
 * Coordination across locations through Durable Objects (docs/coordination.md). Off by default: the
 * purge ledger then rides on KV alone (~65 s to reach every location).
 */
export const coordinationSchema = z.strictObject({
  /** Record purges in the purge coordinator Durable Object (binding OUTPOST_PURGE_COORDINATOR): every location within about 1.5 x purge_poll_interval_ms, with receipts. */
  purge_coordinator: z._default(z.boolean(), false),
  /** How often a location asks the coordinator for new purges (one call per location per interval, shared by its isolates); the cost knob. */
  purge_poll_interval_ms: z._default(z.int().check(z.minimum(100), z.maximum(60_000)), 1_000),
  /** A purge's receipt lists the locations that polled the coordinator within this many minutes. */
  receipt_window_minutes: z._default(z.int().check(z.minimum(1), z.maximum(1_440)), 10),
  /** Share passive health through one PoolHealth Durable Object per pool (binding OUTPOST_POOL_HEALTH): an origin whose circuits opened in several locations is ordered last everywhere. */
  shared_health: z._default(z.boolean(), false),
  /** Distinct locations whose circuits for an origin opened (connection failures, timeouts) within the pool's open_seconds before it is demoted everywhere. */
  shared_health_min_locations: z._default(z.int().check(z.minimum(2), z.maximum(100)), 2),
  /** How often a location asks a pool's health object for demotions, on misses only (one call per pool per location per interval). */
  shared_health_poll_interval_ms: z._default(z.int().check(z.minimum(100), z.maximum(60_000)), 1_000),
});

/**
 * A route test (`[[vars.OUTPOST.tests]]`): a request and what Outpost should decide for it. Run
 * offline by `npm run check` with the worker's own stage functions; the worker itself ignores them.
 */
export const routeTestSchema = z.strictObject({
  request: z.strictObject({
    url: z.url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" }),
    method: z._default(z.string().check(z.regex(/^[A-Z]{1,16}$/, "must be an upper-case method such as GET")), "GET"),
    /** The visitor's request.cf fields, as steering reads them. */
    country: z.optional(countryCodeSchema),
    continent: z.optional(z.enum(CONTINENT_CODES)),
    colo: z.optional(coloCodeSchema),
    region_code: z.optional(z.string().check(z.maxLength(8))),
    latitude: z.optional(z.number().check(z.minimum(-90), z.maximum(90))),
    longitude: z.optional(z.number().check(z.minimum(-180), z.maximum(180))),
    /** Request headers, e.g. { Cookie = "session=1" } or { Upgrade = "websocket" }. */
    headers: z._default(z.record(z.string().check(z.minLength(1)), z.string()), {}),
    /** The visitor's IP, for origin_steering = "hash". */
    ip: z.optional(z.string()),
  }),
  /** Only the fields given are compared. */
  expect: z.strictObject({
    /** The route's name, or false when no route should match (404). */
    route: z.optional(z.union([nameSchema, z.literal(false)])),
    /** Pools in the order they would be tried (steering, then failover; health is not applied). */
    pools: z.optional(z.array(nameSchema)),
    /** The first origin tried. */
    origin: z.optional(nameSchema),
    /** Steering's reason, e.g. "country:JP" or "default". */
    reason: z.optional(z.string()),
    /** "cache": the request may be served from the cache; "bypass": it goes to the origin (cache off, method, bypass cookie, WebSocket). */
    cache: z.optional(z.enum(["cache", "bypass"])),
  }),
});

export const outpostConfigSchema = z.strictObject({
  /**
   * Cache tiers, nearest first: "memory" (this isolate, small objects, 10 s), "colo" (the location's
   * Cache API), "kv" (Workers KV, global). Drop one to measure without it or where it is unavailable.
   */
  cache_tiers: z._default(z.array(z.enum(["memory", "colo", "kv"])).check(z.minLength(1, "list at least one tier")), ["memory", "colo", "kv"]),
  /** Part of every cache key: change it to invalidate everything cached at once. */
  cache_version: z._default(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,32}$/, "must be 1-32 letters, digits, '.', '_' or '-'")), "1"),
  routes: z.array(routeSchema).check(z.minLength(1, "at least one route is required")),
  pools: z.array(poolSchema).check(z.minLength(1, "at least one pool is required")),
  monitors: z._default(z.array(monitorSchema), []),
  admin: z.prefault(adminSchema, {}),
  observability: z.prefault(observabilitySchema, {}),
  /** Coordination across locations through Durable Objects: the purge coordinator (docs/coordination.md). */
  coordination: z.prefault(coordinationSchema, {}),
  /** Route tests, run by `npm run check` (see docs/route-tests.md). */
  tests: z._default(z.array(routeTestSchema), []),
});

export type OutpostConfigInput = z.input<typeof outpostConfigSchema>;
export type OutpostConfig = z.output<typeof outpostConfigSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type PoolConfig = z.output<typeof poolSchema>;
export type ShieldConfig = z.output<typeof shieldSchema>;
export type OriginConfig = z.output<typeof originSchema>;
export type MonitorConfig = z.output<typeof monitorSchema>;
export type CachePolicy = z.output<typeof cachePolicySchema>;
export type ObservabilityConfig = z.output<typeof observabilitySchema>;
export type CoordinationConfig = z.output<typeof coordinationSchema>;
export type RouteTest = z.output<typeof routeTestSchema>;

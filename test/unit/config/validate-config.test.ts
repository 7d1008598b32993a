import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config/load-config.ts";
import { validateConfig } from "../../../src/config/validate-config.ts";

const pool = (name: string, address = "https://origin.example.com") => ({ name, origins: [{ name: `${name}-1`, address }] });
const route = (name: string, default_pools: string[], extra: Record<string, unknown> = {}) => ({ name, default_pools, ...extra });

describe("validateConfig", () => {
  it("fills every default from the schema", () => {
    const result = validateConfig({ pools: [pool("main")], routes: [route("site", ["main"])] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [site] = result.config.routes;
    expect(site).toMatchObject({ hosts: ["*"], path: "/*", steering_policy: "off", origin_timeout_ms: 15_000, deadline_ms: 30_000 });
    expect(site?.pools[0]?.origins[0]).toMatchObject({ weight: 1, enabled: true });
    expect(result.config.monitors.size).toBe(0);
  });

  it("resolves default_pools in order and the fallback pool", () => {
    const result = validateConfig({
      pools: [pool("a"), pool("b"), pool("c")],
      routes: [route("site", ["b", "a"], { fallback_pool: "c" })],
    });
    expect(result.ok && result.config.routes[0]?.pools.map((p) => p.name)).toEqual(["b", "a"]);
    expect(result.ok && result.config.routes[0]?.fallbackPool?.name).toBe("c");
  });

  // The corpus of broken configs: each names the exact message(s) an operator sees.
  it.each([
    ["no routes or pools", {}, ["routes: is required (a list)", "pools: is required (a list)"]],
    ["an unknown pool", { pools: [pool("main")], routes: [route("a", ["main"]), route("b", ["main"]), route("c", ["eu-west"])] }, ['routes[2].default_pools[0]: unknown pool "eu-west"']],
    ["an unknown fallback pool", { pools: [pool("main")], routes: [route("site", ["main"], { fallback_pool: "gone" })] }, ['routes[0].fallback_pool: unknown pool "gone"']],
    ["an unknown monitor", { pools: [{ ...pool("main"), monitor: "hc" }], routes: [route("site", ["main"])] }, ['pools[0].monitor: unknown monitor "hc"']],
    ["duplicate pool names", { pools: [pool("main"), pool("main")], routes: [route("site", ["main"])] }, ['pools[1].name: duplicate name "main"']],
    [
      "duplicate origin names in a pool",
      { pools: [{ name: "main", origins: [{ name: "x", address: "https://a.example" }, { name: "x", address: "https://b.example" }] }], routes: [route("site", ["main"])] },
      ['pools[0].origins[1].name: duplicate name "x"'],
    ],
    ["a relative origin address", { pools: [pool("main", "origin.example.com")], routes: [route("site", ["main"])] }, ['pools[0].origins[0].address: not an absolute URL: "origin.example.com"']],
    ["a non-http origin", { pools: [pool("main", "ftp://origin.example.com")], routes: [route("site", ["main"])] }, ['pools[0].origins[0].address: must use http or https, not "ftp"']],
    ["an origin with a query", { pools: [pool("main", "https://o.example.com/?a=1")], routes: [route("site", ["main"])] }, ["pools[0].origins[0].address: must not contain a query or fragment"]],
    ["an origin with credentials", { pools: [pool("main", "https://u:p@o.example.com")], routes: [route("site", ["main"])] }, ["pools[0].origins[0].address: must not contain credentials"]],
    ["a pool without origins", { pools: [{ name: "main", origins: [] }], routes: [route("site", ["main"])] }, ["pools[0].origins: a pool needs at least one origin"]],
    ["a misspelt key", { pools: [pool("main")], routes: [route("site", ["main"], { fallbackpool: "main" })] }, ['routes[0]: unknown key "fallbackpool" (did you mean "fallback_pool"?)']],
    ["a misspelt steering_policy key", { pools: [pool("main")], routes: [route("site", ["main"], { steering_polcy: "geo" })] }, ['routes[0]: unknown key "steering_polcy" (did you mean "steering_policy"?)']],
    ["a misspelt steering policy", { pools: [pool("main")], routes: [route("site", ["main"], { steering_policy: "proximty" })] }, ['routes[0].steering_policy: must be one of "off", "geo", "proximity", "random" (did you mean "proximity"?)']],
    ["a negative TTL", { pools: [pool("main")], routes: [route("site", ["main"], { cache: { stale_if_error_seconds: -1 } })] }, ["routes[0].cache.stale_if_error_seconds: must be at least 0"]],
    ["a fractional timeout", { pools: [pool("main")], routes: [route("site", ["main"], { origin_timeout_ms: 1.5 })] }, ["routes[0].origin_timeout_ms: must be a whole number, not 1.5"]],
    ["a string where a number goes", { pools: [pool("main")], routes: [route("site", ["main"], { deadline_ms: "30s" })] }, ['routes[0].deadline_ms: must be a number, not the string "30s"']],
    ["a weight above 1", { pools: [{ name: "main", origins: [{ name: "a", address: "https://a.example", weight: 2 }] }], routes: [route("site", ["main"])] }, ["pools[0].origins[0].weight: must be at most 1"]],
    ["a path without a leading slash", { pools: [pool("main")], routes: [route("site", ["main"], { path: "api/*" })] }, ["routes[0].path: must start with /"]],
    ["an invalid host pattern", { pools: [pool("main")], routes: [route("site", ["main"], { hosts: ["exa mple.com"] })] }, [expect.stringMatching(/^routes\[0\]\.hosts\[0\]: invalid pattern "exa mple.com"/)]],
    ["a name with spaces", { pools: [pool("main pool")], routes: [route("site", ["main"])] }, [expect.stringMatching(/^pools\[0\]\.name: must be 1-63 letters/), expect.stringMatching(/^pools\[0\]\.origins\[0\]\.name: must be 1-63 letters/), expect.stringMatching(/^routes\[0\]\.default_pools\[0\]: unknown pool "main"/)]],
    ["latitude without longitude", { pools: [{ ...pool("main"), latitude: 50 }], routes: [route("site", ["main"])] }, ["pools[0].latitude: latitude and longitude must be set together"]],
    ["an unknown steering policy", { pools: [pool("main")], routes: [route("site", ["main"], { steering_policy: "fastest" })] }, ['routes[0].steering_policy: must be one of "off", "geo", "proximity", "random"']],
    ["a monitor interval below the cron granularity", { monitors: [{ name: "hc", interval_seconds: 10 }], pools: [pool("main")], routes: [route("site", ["main"])] }, ["monitors[0].interval_seconds: must be at least 60 (the cron trigger's granularity)"]],
    ["malformed expected codes", { monitors: [{ name: "hc", expected_codes: "ok" }], pools: [pool("main")], routes: [route("site", ["main"])] }, [expect.stringMatching(/^monitors\[0\]\.expected_codes: must list status codes/)]],
    [
      "only disabled origins",
      { pools: [{ name: "main", origins: [{ name: "a", address: "https://a.example", enabled: false }] }], routes: [route("site", ["main"])] },
      ["routes[0].default_pools: every origin of these pools is disabled"],
    ],
  ])("reports %s", (_case, raw, problems) => {
    const result = validateConfig(raw);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toEqual(problems);
  });

  it("reports every problem of a config at once", () => {
    const result = validateConfig({
      pools: [pool("main"), pool("main")],
      routes: [route("site", ["nowhere"], { fallback_pool: "gone" })],
    });
    expect(result.ok ? [] : result.problems).toEqual([
      'pools[1].name: duplicate name "main"',
      'routes[0].default_pools[0]: unknown pool "nowhere"',
      'routes[0].fallback_pool: unknown pool "gone"',
    ]);
  });
});

describe("readConfig", () => {
  it("accepts the configuration as a JSON string", () => {
    const result = readConfig({ OUTPOST: JSON.stringify({ pools: [pool("main")], routes: [route("site", ["main"])] }) });
    expect(result.ok).toBe(true);
  });

  it("rejects a string that is not JSON", () => {
    expect(readConfig({ OUTPOST: "{pools" })).toEqual({ ok: false, problems: ["OUTPOST: a string value must be JSON"] });
  });

  it("explains a missing configuration", () => {
    const result = readConfig({});
    expect(result.ok ? [] : result.problems[0]).toMatch(/^OUTPOST: missing/);
  });

  it("turns OUTPOST_ORIGINS into a primary pool and ordered backups behind one catch-all route", () => {
    const result = readConfig({ OUTPOST_ORIGINS: "http://127.0.0.1:9001, http://127.0.0.1:9002 http://127.0.0.1:9003" });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [only] = result.config.routes;
    expect(result.config.routes).toHaveLength(1);
    expect(only?.hosts).toEqual(["*"]);
    expect(only?.pools.map((p) => [p.name, p.origins[0]?.address])).toEqual([
      ["primary", "http://127.0.0.1:9001"],
      ["backup-1", "http://127.0.0.1:9002"],
      ["backup-2", "http://127.0.0.1:9003"],
    ]);
  });

  it("accepts OUTPOST_ORIGINS as a JSON array and replaces the configured pools and routes", () => {
    const result = readConfig({
      OUTPOST: { pools: [pool("main")], routes: [route("site", ["main"])] },
      OUTPOST_ORIGINS: '["https://a.example.com"]',
    });
    expect(result.ok && result.config.routes.map((r) => r.name)).toEqual(["default"]);
    expect(result.ok && [...result.config.pools.keys()]).toEqual(["primary"]);
  });

  it("health-checks every OUTPOST_ORIGINS pool: GET /, any 2xx or 3xx, every 60 s", () => {
    const result = readConfig({ OUTPOST_ORIGINS: "http://127.0.0.1:9001 http://127.0.0.1:9002" });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect([...result.config.pools.values()].map((p) => p.monitor)).toEqual(["origin-list", "origin-list"]);
    expect(result.config.monitors.get("origin-list")).toMatchObject({ method: "GET", path: "/", expected_codes: "2xx,3xx", interval_seconds: 60 });
  });

  it("checks the OUTPOST_ORIGINS pools on OUTPOST_HEALTH_PATH when it is set", () => {
    const result = readConfig({ OUTPOST_ORIGINS: "http://127.0.0.1:9001", OUTPOST_HEALTH_PATH: "/healthz" });
    expect(result.ok && result.config.monitors.get("origin-list")?.path).toBe("/healthz");
    expect(readConfig({ OUTPOST_ORIGINS: "http://127.0.0.1:9001", OUTPOST_HEALTH_PATH: "healthz" })).toEqual({ ok: false, problems: ['OUTPOST_HEALTH_PATH: must start with / (got "healthz")'] });
  });

  it("names the bad entry of OUTPOST_ORIGINS", () => {
    expect(readConfig({ OUTPOST_ORIGINS: "http://ok.example,ftp://bad.example" })).toEqual({
      ok: false,
      problems: ['OUTPOST_ORIGINS[1]: must use http or https, not "ftp"'],
    });
  });

  it("accepts the configuration in wrangler.toml", () => {
    const result = readConfig({ OUTPOST: (env as unknown as { OUTPOST: unknown }).OUTPOST });
    expect(result.ok ? [] : result.problems).toEqual([]);
    expect(result.ok && result.config.routes.map((r) => r.name)).toEqual(["demo"]);
  });
});

describe("steering configuration", () => {
  const pools = [pool("eu"), pool("us")];

  it("reports unknown pools in every geo table and in pool_weights", () => {
    const result = validateConfig({
      pools,
      routes: [
        route("site", ["eu"], {
          steering_policy: "geo",
          pop_pools: { FRA: ["fra"] },
          country_pools: { DE: ["de"] },
          region_pools: { WEU: ["weu"] },
          continent_pools: { EU: ["europe"] },
          random_steering: { pool_weights: { asia: 0.5 } },
        }),
      ],
    });
    expect(result.ok ? [] : result.problems).toEqual([
      'routes[0].pop_pools.FRA[0]: unknown pool "fra"',
      'routes[0].country_pools.DE[0]: unknown pool "de"',
      'routes[0].region_pools.WEU[0]: unknown pool "weu"',
      'routes[0].continent_pools.EU[0]: unknown pool "europe"',
      'routes[0].random_steering.pool_weights.asia: unknown pool "asia"',
    ]);
  });

  it("reports malformed geo keys", () => {
    const result = validateConfig({
      pools,
      routes: [route("site", ["eu"], { country_pools: { de: ["eu"] }, region_pools: { EUROPE: ["eu"] }, pop_pools: { FRANKFURT: ["eu"] } })],
    });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.stringMatching(/^routes\[0\]\.pop_pools\.FRANKFURT: must be a Cloudflare colo/),
      expect.stringMatching(/^routes\[0\]\.country_pools\.de: must be an ISO 3166-1 alpha-2 country code/),
      'routes[0].region_pools: unknown key "EUROPE" (one of WNAM, ENAM, WEU, EEU, NSAM, SSAM, OC, ME, NAF, SAF, SAS, SEAS, NEAS)',
    ]);
  });

  it("requires coordinates for proximity steering", () => {
    const result = validateConfig({ pools, routes: [route("site", ["eu", "us"], { steering_policy: "proximity" })] });
    expect(result.ok ? [] : result.problems).toEqual(["routes[0].steering_policy: proximity needs latitude and longitude on at least one of default_pools"]);
  });

  it("fills pool defaults for origin steering and the circuit breaker", () => {
    const result = validateConfig({ pools, routes: [route("site", ["eu"])] });
    expect(result.ok && result.config.pools.get("eu")).toMatchObject({
      origin_steering: { policy: "random" },
      circuit_breaker: { consecutive_failures: 5, open_seconds: 30 },
    });
    expect(result.ok && result.config.routes[0]).toMatchObject({ retry_on_statuses: [502, 503, 504], max_replay_body_bytes: 65_536 });
  });
});

describe("validateConfig: what a route stores", () => {
  const withCache = (cache: Record<string, unknown>) => ({ pools: [pool("main")], routes: [route("site", ["main"], { cache })] });

  it("defaults to the statuses safe to share and to never storing answers to Authorization", () => {
    const result = validateConfig(withCache({}));
    expect(result.ok && result.config.routes[0]?.cache).toMatchObject({
      cache_statuses: [200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414],
      cache_authorized: false,
      public_cookies: [],
    });
  });

  it.each([
    ["a status_ttl_seconds for a status the route does not store", { status_ttl_seconds: { "503": 5 } }, ["routes[0].cache.status_ttl_seconds.503: 503 is not in cache_statuses; list it there to store 503 answers"]],
    ["a 206 in cache_statuses", { cache_statuses: [200, 206] }, ["routes[0].cache.cache_statuses[1]: 206 and 304 are never stored (a cache keeps whole responses)"]],
  ])("rejects %s", (_case, cache, problems) => {
    expect(validateConfig(withCache(cache))).toEqual({ ok: false, problems });
  });

  it("accepts a status_ttl_seconds for a status the route lists", () => {
    expect(validateConfig(withCache({ cache_statuses: [200, 503], status_ttl_seconds: { "503": 5 } })).ok).toBe(true);
  });
});

// Properties of the config loader: whatever JSON arrives (from wrangler.toml vars, a JSON string,
// OUTPOST_ORIGINS), validation never throws and answers either a compiled config or a non-empty
// list of problems, each naming the path it is about. Valid configs always compile, with every
// pool reference resolved.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config/load-config.ts";
import { validateConfig, type ConfigValidation } from "../../../src/config/validate-config.ts";

const RUNS = { seed: 2026, numRuns: 400 };

/** "path: message", where path is (root), a top-level key or one of the two env variables. */
const PROBLEM = /^(\(root\)|cache_tiers|cache_version|routes|pools|monitors|OUTPOST|OUTPOST_ORIGINS)([.[][^]*?)?: \S/;

function expectWellFormed(result: ConfigValidation): void {
  if (result.ok) {
    expect(result.config.routes.length).toBeGreaterThan(0);
    for (const route of result.config.routes) expect(route.pools.length).toBeGreaterThan(0);
    return;
  }
  expect(result.problems.length).toBeGreaterThan(0);
  for (const problem of result.problems) expect(problem).toMatch(PROBLEM);
}

// --- valid configurations ------------------------------------------------------------------------

const name = (prefix: string, count: number) => fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: count }).map((ids) => ids.map((id) => `${prefix}${id}`));

const origin = (originName: string, first: boolean) =>
  fc.record({
    name: fc.constant(originName),
    address: fc.constantFrom("https://origin.example.com", "http://10.0.0.5:8080/prefix", "https://[2001:db8::1]/", "http://127.0.0.1:9000"),
    weight: fc.double({ min: 0, max: 1, noNaN: true }),
    // The first origin of every pool stays enabled, so no route has only disabled origins.
    enabled: first ? fc.constant(true) : fc.boolean(),
  });

const pool = (poolName: string) =>
  name("o", 3).chain((originNames) =>
    fc.record({
      name: fc.constant(poolName),
      origins: fc.tuple(...originNames.map((originName, index) => origin(originName, index === 0))),
      latitude: fc.double({ min: -90, max: 90, noNaN: true }),
      longitude: fc.double({ min: -180, max: 180, noNaN: true }),
      origin_steering: fc.record({ policy: fc.constantFrom("random", "hash", "off") }),
    }),
  );

const cache = fc.record(
  {
    enabled: fc.boolean(),
    edge_ttl_seconds: fc.nat({ max: 31_536_000 }),
    stale_while_revalidate_seconds: fc.nat({ max: 86_400 }),
    status_ttl_seconds: fc.dictionary(fc.constantFrom("200", "404", "410", "301"), fc.nat({ max: 3600 })),
    bypass_cookies: fc.array(fc.constantFrom("session", "cart")),
    request_cache_control: fc.constantFrom("ignore", "honor"),
    query: fc.record({ sort: fc.boolean(), deny: fc.array(fc.string({ maxLength: 5 })), strip_tracking: fc.boolean() }, { requiredKeys: [] }),
    key: fc.record({ headers: fc.subarray(["accept-language", "x-device"]), cookies: fc.subarray(["lang"]), country: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

const route = (routeName: string, poolNames: string[]) =>
  fc.record(
    {
      name: fc.constant(routeName),
      hosts: fc.subarray(["*", "www.example.com", "*.example.org", "{www.}?example.net"], { minLength: 1 }),
      path: fc.constantFrom("/*", "/api/*", "/files/:name", "/", "/a(b)", "/static/*"),
      default_pools: fc.shuffledSubarray(poolNames, { minLength: 1 }),
      fallback_pool: fc.constantFrom(...poolNames),
      steering_policy: fc.constantFrom("off", "geo", "proximity", "random"),
      country_pools: fc.dictionary(fc.constantFrom("DE", "US", "JP"), fc.shuffledSubarray(poolNames, { minLength: 1 })),
      continent_pools: fc.dictionary(fc.constantFrom("EU", "NA", "AS"), fc.shuffledSubarray(poolNames, { minLength: 1 })),
      region_pools: fc.dictionary(fc.constantFrom("WNAM", "WEU", "SEAS"), fc.shuffledSubarray(poolNames, { minLength: 1 })),
      pop_pools: fc.dictionary(fc.constantFrom("FRA", "IAD", "NRT"), fc.shuffledSubarray(poolNames, { minLength: 1 })),
      random_steering: fc.record({ default_weight: fc.double({ min: 0, max: 1, noNaN: true }) }),
      origin_timeout_ms: fc.integer({ min: 1, max: 300_000 }),
      cache,
    },
    { requiredKeys: ["name", "default_pools"] },
  );

const validConfig = fc
  .tuple(name("pool-", 3), name("route-", 3))
  .chain(([poolNames, routeNames]) =>
    fc.record(
      {
        cache_version: fc.stringMatching(/^[A-Za-z0-9._-]{1,32}$/),
        cache_tiers: fc.subarray(["memory", "colo", "kv"] as const, { minLength: 1 }),
        pools: fc.tuple(...poolNames.map(pool)),
        routes: fc.tuple(...routeNames.map((routeName) => route(routeName, poolNames))),
      },
      { requiredKeys: ["pools", "routes"] },
    ),
  );

// --- mutations -----------------------------------------------------------------------------------

/** Every path into a JSON value, the root excluded. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value !== "object" || value === null) return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

/** A deep copy of `value` with the node at `path` replaced by `replacement` (or removed when undefined). */
function replaceAt(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === undefined && !Array.isArray(node)) delete node[last];
  else node[last] = replacement;
  return copy;
}

const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("", "*", "/", "/{", "unknown-pool", -1, 0, 1.5, 1e309, null, [], {}, "https://u:p@evil.example", "ftp://x", "\u0000"),
  fc.constant(undefined),
);

// --- properties ---------------------------------------------------------------------------------

describe("validateConfig", () => {
  it("never throws on arbitrary JSON and answers a config or problems that name their paths", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (raw) => {
        expectWellFormed(validateConfig(raw));
      }),
      RUNS,
    );
  });

  it("never throws on config-shaped objects with arbitrary values in known places", () => {
    const shaped = fc.record(
      { cache_version: fc.jsonValue(), cache_tiers: fc.jsonValue(), pools: fc.array(fc.dictionary(fc.constantFrom("name", "origins", "monitor", "latitude"), fc.jsonValue({ maxDepth: 2 }))), routes: fc.array(fc.dictionary(fc.constantFrom("name", "hosts", "default_pools", "fallback_pool", "country_pools", "cache"), fc.jsonValue({ maxDepth: 2 }))), monitors: fc.jsonValue() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(shaped, (raw) => {
        expectWellFormed(validateConfig(raw));
      }),
      RUNS,
    );
  });

  it("compiles every valid config, resolving default_pools in order and the fallback pool", () => {
    fc.assert(
      fc.property(validConfig, (config) => {
        const result = validateConfig(config);
        expect(result.ok ? [] : result.problems).toEqual([]);
        if (!result.ok) return;
        result.config.routes.forEach((compiled, index) => {
          const raw = config.routes[index]!;
          expect(compiled.pools.map((p) => p.name)).toEqual(raw.default_pools);
          expect(compiled.fallbackPool?.name).toBe(raw.fallback_pool);
          expect(compiled.matchers.length).toBe((raw.hosts ?? ["*"]).length);
          for (const matches of compiled.matchers) expect(typeof matches(new URL("https://www.example.com/api/x"))).toBe("boolean");
        });
      }),
      RUNS,
    );
  });

  it("never throws when any one value of a valid config is replaced or removed", () => {
    const mutated = validConfig.chain((config) => {
      const paths = pathsOf(config);
      return fc.tuple(fc.constant(config), fc.constantFrom(...paths), oddValue);
    });
    fc.assert(
      fc.property(mutated, ([config, path, replacement]) => {
        expectWellFormed(validateConfig(replaceAt(config, path, replacement)));
      }),
      RUNS,
    );
  });

  it("gives the same answer every time for the same input", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (raw) => {
        expect(JSON.stringify(validateConfig(raw))).toBe(JSON.stringify(validateConfig(raw)));
      }),
      { ...RUNS, numRuns: 200 },
    );
  });

  // Once a bug: a route without `hosts` skipped the pattern check and compile() threw.
  it("reports an invalid path pattern as a problem when the route omits hosts", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\/[a-z:*(){}?+]{0,6}$/), fc.boolean(), (path, withHosts) => {
        const route = { name: "site", default_pools: ["main"], path, ...(withHosts ? { hosts: ["*"] } : {}) };
        expectWellFormed(validateConfig({ pools: [{ name: "main", origins: [{ name: "a", address: "https://a.example" }] }], routes: [route] }));
      }),
      RUNS,
    );
  });
});

describe("readConfig", () => {
  it("never throws on any OUTPOST string or OUTPOST_ORIGINS list", () => {
    const originList = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.array(fc.oneof(fc.webUrl(), fc.string({ maxLength: 20 })), { maxLength: 4 }).chain((urls) => fc.constantFrom(urls.join(","), urls.join(" \n"), JSON.stringify(urls))),
    );
    fc.assert(
      fc.property(fc.option(fc.oneof(fc.string({ maxLength: 60 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))), { nil: undefined }), fc.option(originList, { nil: undefined }), (outpost, origins) => {
        expectWellFormed(readConfig({ OUTPOST: outpost, OUTPOST_ORIGINS: origins }));
      }),
      RUNS,
    );
  });
});

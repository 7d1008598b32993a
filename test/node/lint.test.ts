// The deploy-time lint (src/config/lint.ts): for each rule, a configuration that triggers it and one
// that does not, then the rule as `npm run check` reports it (warning, and error under --strict).
import "urlpattern-polyfill"; // Node has no URLPattern; workerd has it natively.
import { describe, expect, it } from "vitest";
import { lintConfig, type DeployFacts } from "../../src/config/lint.ts";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { validateConfig } from "../../src/config/validate-config.ts";
import { check } from "./check-run.ts";

const FACTS: DeployFacts = { production: false, requiredSecrets: [], crons: ["* * * * *"], durableObjects: false, plan: "free" };

type Route = OutpostConfigInput["routes"][number];
const origin = (name: string) => ({ name, address: `https://${name}.example.com` });
const pool = (name: string, extra: Record<string, unknown> = {}) => ({ name, origins: [origin(`${name}-1`)], ...extra });

/** Two pools, one route "site" over both (with `route` merged in), plus any `extra` top-level keys. */
function config(route: Partial<Route> = {}, extra: Partial<OutpostConfigInput> = {}): OutpostConfigInput {
  return {
    pools: [pool("eu", { latitude: 50, longitude: 8 }), pool("us", { latitude: 39, longitude: -77 })],
    routes: [{ name: "site", default_pools: ["eu", "us"], ...route }],
    ...extra,
  };
}

function lint(input: OutpostConfigInput, facts: Partial<DeployFacts> = {}) {
  const result = validateConfig(input);
  if (!result.ok) throw new Error(result.problems.join("\n"));
  return lintConfig(result.config, { ...FACTS, ...facts });
}

const bigPools = Array.from({ length: 5 }, (_, index) => ({ name: `p${index}`, origins: Array.from({ length: 9 }, (_, n) => origin(`p${index}-${n}`)) }));

interface Case {
  rule: string;
  path: string;
  triggers: [OutpostConfigInput, Partial<DeployFacts>?];
  passes: [OutpostConfigInput, Partial<DeployFacts>?];
}

const CASES: Case[] = [
  { rule: "deadline-below-timeout", path: "routes[0].deadline_ms", triggers: [config({ origin_timeout_ms: 10_000, deadline_ms: 5_000 })], passes: [config({ origin_timeout_ms: 5_000, deadline_ms: 10_000 })] },
  { rule: "deadline-fits-no-retry", path: "routes[0].deadline_ms", triggers: [config({ origin_timeout_ms: 10_000, deadline_ms: 15_000 })], passes: [config({ origin_timeout_ms: 10_000, deadline_ms: 15_000, default_pools: ["eu"] })] },
  {
    rule: "subrequest-limit",
    path: "routes[0].default_pools",
    // 45 origins + the pipeline's own subrequests > 50 on the free plan; fine on a paid plan.
    triggers: [{ pools: bigPools, routes: [{ name: "site", default_pools: bigPools.map((p) => p.name) }] }],
    passes: [{ pools: bigPools, routes: [{ name: "site", default_pools: bigPools.map((p) => p.name) }] }, { plan: "paid" }],
  },
  { rule: "swr-below-kv-propagation", path: "routes[0].cache.stale_while_revalidate_seconds", triggers: [config({ cache: { stale_while_revalidate_seconds: 30 } })], passes: [config({ cache: { stale_while_revalidate_seconds: 30 } }), { durableObjects: true }] },
  { rule: "kv-ttl-minimum", path: "routes[0].cache.status_ttl_seconds.404", triggers: [config({ cache: { status_ttl_seconds: { "404": 10 } } })], passes: [config({ cache: { status_ttl_seconds: { "404": 10 } } }, { cache_tiers: ["memory", "colo"] })] },
  { rule: "kv-ttl-minimum", path: "routes[0].cache.edge_ttl_seconds", triggers: [config({ cache: { edge_ttl_seconds: 59 } })], passes: [config({ cache: { edge_ttl_seconds: 60 } })] },
  { rule: "max-object-bytes-kv", path: "routes[0].cache.max_object_bytes", triggers: [config({ cache: { max_object_bytes: 26 * 1024 * 1024 } })], passes: [config({ cache: { max_object_bytes: 26 * 1024 * 1024 } }, { cache_tiers: ["memory", "colo"] })] },
  { rule: "geo-route-cache-key", path: "routes[0].cache.key.country", triggers: [config({ steering_policy: "geo", country_pools: { JP: ["us"] } })], passes: [config({ steering_policy: "geo", country_pools: { JP: ["us"] }, same_content: true })] },
  { rule: "geo-route-cache-key", path: "routes[0].cache.key.country", triggers: [config({ steering_policy: "proximity" })], passes: [config({ steering_policy: "proximity", cache: { key: { country: true } } })] },
  { rule: "high-cardinality-key", path: "routes[0].cache.key.headers[1]", triggers: [config({ cache: { key: { headers: ["accept-language", "User-Agent"] } } })], passes: [config({ cache: { key: { headers: ["accept-language"] } } })] },
  { rule: "high-cardinality-key", path: "routes[0].cache.key.headers[0]", triggers: [config({ cache: { key: { headers: ["cookie"] } } })], passes: [config({ cache: { key: { cookies: ["currency"] } } })] },
  {
    rule: "purge-poll-cost",
    path: "coordination.purge_poll_interval_ms",
    triggers: [config({}, { coordination: { purge_coordinator: true, purge_poll_interval_ms: 999 } })],
    passes: [config({}, { coordination: { purge_coordinator: true, purge_poll_interval_ms: 1_000 } })],
  },
  { rule: "purge-poll-cost", path: "coordination.purge_poll_interval_ms", triggers: [config({}, { coordination: { purge_coordinator: true, purge_poll_interval_ms: 250 } })], passes: [config({}, { coordination: { purge_poll_interval_ms: 250 } })] },
  { rule: "admin-token-secret", path: "secrets.required", triggers: [config(), { production: true }], passes: [config(), { production: true, requiredSecrets: ["OUTPOST_ADMIN_TOKEN"] }] },
  { rule: "admin-prefix-collision", path: "routes[0].path", triggers: [config({ path: "/admin/*" }, { admin: { path_prefix: "/admin" } })], passes: [config({ path: "/administration/*" }, { admin: { path_prefix: "/admin" } })] },
  { rule: "admin-prefix-collision", path: "routes[0].path", triggers: [config({ path: "/__outpost/status" })], passes: [config({ path: "/*" })] },
  {
    rule: "monitor-interval-cron",
    path: "monitors[0].interval_seconds",
    triggers: [config({}, { monitors: [{ name: "m", interval_seconds: 60 }], pools: [pool("eu", { monitor: "m" }), pool("us")] }), { crons: ["*/5 * * * *"] }],
    passes: [config({}, { monitors: [{ name: "m", interval_seconds: 300 }], pools: [pool("eu", { monitor: "m" }), pool("us")] }), { crons: ["*/5 * * * *"] }],
  },
  {
    rule: "monitor-without-cron",
    path: "triggers.crons",
    triggers: [config({}, { monitors: [{ name: "m" }], pools: [pool("eu", { monitor: "m" }), pool("us")] }), { crons: [] }],
    passes: [config(), { crons: [] }],
  },
];

describe("deploy-time lint", () => {
  it.each(CASES)("$rule: triggered at $path, and silent when fixed", ({ rule, path, triggers, passes }) => {
    const warnings = lint(...triggers);
    expect(warnings.map((warning) => `${warning.rule} ${warning.path}`)).toContain(`${rule} ${path}`);
    const warning = warnings.find((w) => w.rule === rule)!;
    expect(warning.why.length).toBeGreaterThan(20);
    expect(warning.fix.length).toBeGreaterThan(10);
    expect(lint(...passes).filter((w) => w.rule === rule)).toEqual([]);
  });

  it("prices the purge coordinator's polls per location, and names the Durable Object's soft limit when the fleet would pass it", () => {
    const [warning] = lint(config({}, { coordination: { purge_coordinator: true, purge_poll_interval_ms: 250 } }));
    expect(warning!.message).toBe("purge_poll_interval_ms (250) makes every active location call the purge coordinator 4.0 times a second: 10.4 million requests a month per location, about $1.56 per location per month ($467 for 300 locations)");
    expect(warning!.why).toContain("300 locations make 1200 requests per second, above a Durable Object's ~1000 per second soft limit");
    expect(lint(config({}, { coordination: { purge_coordinator: true, purge_poll_interval_ms: 500 } }))[0]!.why).not.toContain("soft limit");
  });

  it("says nothing about a plain single-pool site", () => {
    expect(lint({ pools: [pool("eu")], routes: [{ name: "site", default_pools: ["eu"] }] })).toEqual([]);
  });

  it("finds the monitor interval a cron can honour, over a whole day", () => {
    // Every 15 minutes during the day only: the night's gap decides.
    const input = config({}, { monitors: [{ name: "m", interval_seconds: 900 }], pools: [pool("eu", { monitor: "m" }), pool("us")] });
    expect(lint(input, { crons: ["*/15 8-20 * * *"] }).map((w) => w.rule)).toContain("monitor-interval-cron");
    expect(lint(input, { crons: ["*/15 * * * *"] }).map((w) => w.rule)).not.toContain("monitor-interval-cron");
  });
});

const HEADER = `name = "t"\nmain = "src/index.ts"\ncompatibility_date = "2026-10-20"\nkv_namespaces = [{ binding = "OUTPOST_CACHE", id = "x" }]\n`;
const SITE = `${HEADER}
[[vars.OUTPOST.pools]]
name = "eu"
origins = [{ name = "eu-1", address = "https://eu.example.com" }]

[[vars.OUTPOST.routes]]
name = "site"
default_pools = ["eu"]
`;
/** The site with a deadline shorter than its attempt timeout (keys appended to the route's table). */
const SLOW_DEADLINE = `${SITE}origin_timeout_ms = 10000
deadline_ms = 5000
`;

describe("npm run check with the lint", { timeout: 30_000 }, () => {
  it("warns about a deadline below its timeout, naming the key, and still exits 0", async () => {
    const { code, output } = await check(SLOW_DEADLINE);
    expect(output).toContain("warn  routes[0].deadline_ms: deadline_ms (5000) is below origin_timeout_ms (10000)");
    expect(output).toContain("why: ");
    expect(output).toContain("fix: raise deadline_ms");
    expect(code).toBe(0);
  });

  it("fails under --strict", async () => {
    const { code, output } = await check(SLOW_DEADLINE, ["--strict"]);
    expect(output).toContain("error routes[0].deadline_ms");
    expect(output).toContain("1 problem(s) found.");
    expect(code).toBe(1);
  });

  it("refuses an unknown plan", async () => {
    const { code, output } = await check(SLOW_DEADLINE, ["--plan", "enterprise"]);
    expect(output).toContain('--plan: "enterprise" is not a Workers plan');
    expect(code).toBe(1);
  });

  it("passes the project's own wrangler.toml under --strict, as CI runs it", async () => {
    const { code, output } = await check(undefined, ["--strict"]);
    expect(output).not.toMatch(/^(warn|error) /m);
    expect(code).toBe(0);
  });
});

const COORDINATOR_ON = `${HEADER}[vars.OUTPOST]\ncoordination = { purge_coordinator = true }\n${SITE.slice(HEADER.length)}`;
const BINDING = `
[[durable_objects.bindings]]
name = "OUTPOST_PURGE_COORDINATOR"
class_name = "PurgeCoordinator"
`;
const MIGRATION = `
[[migrations]]
tag = "v1"
new_sqlite_classes = ["PurgeCoordinator"]
`;

describe("npm run check and the purge coordinator's binding", { timeout: 30_000 }, () => {
  it("fails when the configuration asks for the coordinator and the environment does not bind it", async () => {
    const { code, output } = await check(COORDINATOR_ON);
    expect(output).toContain('error');
    expect(output).toContain('coordination.purge_coordinator: no Durable Object binding "OUTPOST_PURGE_COORDINATOR" in this environment');
    expect(code).toBe(1);
  });

  it("fails when the binding has no SQLite migration", async () => {
    const { code, output } = await check(COORDINATOR_ON + BINDING);
    expect(output).toContain('migrations: no migration creates "PurgeCoordinator"');
    expect(code).toBe(1);
  });

  it("accepts the binding, its migration and the configuration together", async () => {
    const { code, output } = await check(COORDINATOR_ON + BINDING + MIGRATION, ["--strict"]);
    expect(output).not.toMatch(/^(warn|error) /m);
    expect(code).toBe(0);
  });

  it("warns about a binding the configuration does not use (an error under --strict)", async () => {
    const warned = await check(SITE + BINDING + MIGRATION);
    expect(warned.output).toContain('warn  durable_objects.bindings: "OUTPOST_PURGE_COORDINATOR" is bound but coordination.purge_coordinator is off');
    expect(warned.code).toBe(0);
    expect((await check(SITE + BINDING + MIGRATION, ["--strict"])).code).toBe(1);
  });
});

const SHARED_HEALTH_ON = `${HEADER}[vars.OUTPOST]\ncoordination = { shared_health = true }\n${SITE.slice(HEADER.length)}`;
const POOL_HEALTH_BINDING = `
[[durable_objects.bindings]]
name = "OUTPOST_POOL_HEALTH"
class_name = "PoolHealth"
`;
const POOL_HEALTH_MIGRATION = `
[[migrations]]
tag = "v2"
new_sqlite_classes = ["PoolHealth"]
`;

describe("npm run check and the pool health binding", { timeout: 30_000 }, () => {
  it("fails when shared_health is on and the environment does not bind PoolHealth", async () => {
    const { code, output } = await check(SHARED_HEALTH_ON);
    expect(output).toContain('coordination.shared_health: no Durable Object binding "OUTPOST_POOL_HEALTH" in this environment');
    expect(code).toBe(1);
  });

  it("fails when the binding has no SQLite migration, and accepts all three together", async () => {
    const missing = await check(SHARED_HEALTH_ON + POOL_HEALTH_BINDING);
    expect(missing.output).toContain('migrations: no migration creates "PoolHealth"');
    expect(missing.code).toBe(1);
    const whole = await check(SHARED_HEALTH_ON + POOL_HEALTH_BINDING + POOL_HEALTH_MIGRATION, ["--strict"]);
    expect(whole.output).not.toMatch(/^(warn|error) /m);
    expect(whole.code).toBe(0);
  });

  it("warns about a PoolHealth binding the configuration does not use", async () => {
    const warned = await check(SITE + POOL_HEALTH_BINDING + POOL_HEALTH_MIGRATION);
    expect(warned.output).toContain('warn  durable_objects.bindings: "OUTPOST_POOL_HEALTH" is bound but coordination.shared_health is off');
    expect(warned.code).toBe(0);
  });
});

const SHIELDED_SITE = SITE.replace('origins = [{ name = "eu-1", address = "https://eu.example.com" }]', 'origins = [{ name = "eu-1", address = "https://eu.example.com" }]\nshield = { location_hint = "weur" }');
const SHIELD_BINDING = `
[[durable_objects.bindings]]
name = "OUTPOST_SHIELD"
class_name = "OriginShield"
`;
const SHIELD_MIGRATION = `
[[migrations]]
tag = "v3"
new_sqlite_classes = ["OriginShield"]
`;

describe("npm run check and the origin shield binding", { timeout: 30_000 }, () => {
  it("fails when a pool sets shield and the environment does not bind OriginShield, and accepts all three together", async () => {
    const unbound = await check(SHIELDED_SITE);
    expect(unbound.output).toContain('pools[].shield (eu): no Durable Object binding "OUTPOST_SHIELD" in this environment');
    expect(unbound.code).toBe(1);
    const whole = await check(SHIELDED_SITE + SHIELD_BINDING + SHIELD_MIGRATION, ["--strict"]);
    expect(whole.output).not.toMatch(/^(warn|error) /m);
    expect(whole.code).toBe(0);
  });

  it("warns about an OriginShield binding no pool uses", async () => {
    const warned = await check(SITE + SHIELD_BINDING + SHIELD_MIGRATION);
    expect(warned.output).toContain('warn  durable_objects.bindings: "OUTPOST_SHIELD" is bound but pools[].shield (none) is off');
    expect(warned.code).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../../src/config/schema.ts";
import { validateConfig, type CompiledRoute } from "../../../src/config/validate-config.ts";
import { OriginHealth } from "../../../src/health/origin-health.ts";
import { orderByHealth, selectPools, type SteeringInput, type VisitorCf } from "../../../src/steering/select-pools.ts";
import { TestClock } from "../../helpers/worker.ts";

const pools: OutpostConfigInput["pools"] = [
  { name: "eu", latitude: 50.11, longitude: 8.68, origins: [{ name: "eu-1", address: "https://eu-1.example" }] },
  { name: "us", latitude: 39.04, longitude: -77.49, origins: [{ name: "us-1", address: "https://us-1.example" }] },
  { name: "apac", latitude: 35.68, longitude: 139.69, origins: [{ name: "apac-1", address: "https://apac-1.example" }] },
  { name: "spare", origins: [{ name: "spare-1", address: "https://spare-1.example" }] },
];

function route(extra: Partial<OutpostConfigInput["routes"][number]>, poolList = pools): CompiledRoute {
  const result = validateConfig({ pools: poolList, routes: [{ name: "site", default_pools: ["eu", "us", "apac"], ...extra }] });
  if (!result.ok) throw new Error(result.problems.join("\n"));
  return result.config.routes[0]!;
}

const input = (cf: VisitorCf | undefined, extra: Partial<SteeringInput> = {}): SteeringInput => ({ cf, clientIp: "203.0.113.7", random: () => 0, ...extra });
const poolOrder = (r: CompiledRoute, i: SteeringInput) => selectPools(r, i).candidates.map((c) => c.pool.name);

describe("steering_policy off", () => {
  it("follows default_pools, then the fallback pool", () => {
    const decision = selectPools(route({ fallback_pool: "spare" }), input({ country: "JP" }));
    expect(decision.candidates.map((c) => c.pool.name)).toEqual(["eu", "us", "apac", "spare"]);
    expect(decision.reason).toBe("default");
  });
});

describe("steering_policy geo", () => {
  const geo = route({
    steering_policy: "geo",
    pop_pools: { NRT: ["us"] },
    country_pools: { DE: ["eu"], JP: ["apac", "us"] },
    region_pools: { ENAM: ["us"], SEAS: ["apac"] },
    continent_pools: { AS: ["apac"], EU: ["eu"] },
    fallback_pool: "spare",
  });

  it.each([
    [{ colo: "NRT", country: "JP", continent: "AS" }, "colo:NRT", ["us", "eu", "apac", "spare"]],
    [{ colo: "FRA", country: "DE", continent: "EU" }, "country:DE", ["eu", "us", "apac", "spare"]],
    [{ country: "JP", continent: "AS" }, "country:JP", ["apac", "us", "eu", "spare"]],
    [{ country: "US", regionCode: "NY", continent: "NA" }, "region:ENAM", ["us", "eu", "apac", "spare"]],
    [{ country: "SG", continent: "AS" }, "region:SEAS", ["apac", "eu", "us", "spare"]],
    [{ country: "CN", continent: "AS" }, "continent:AS", ["apac", "eu", "us", "spare"]],
    [{ country: "FR", continent: "EU" }, "continent:EU", ["eu", "us", "apac", "spare"]],
    [{ country: "BR", continent: "SA" }, "default", ["eu", "us", "apac", "spare"]],
    [{}, "default (no geo data)", ["eu", "us", "apac", "spare"]],
    [undefined, "default (no geo data)", ["eu", "us", "apac", "spare"]],
  ])("steers %j by %s", (cf, reason, order) => {
    const decision = selectPools(geo, input(cf));
    expect(decision.reason).toBe(reason);
    expect(decision.candidates.map((c) => c.pool.name)).toEqual(order);
  });

  it("matches lower-case cf values", () => {
    expect(selectPools(geo, input({ country: "de" })).reason).toBe("country:DE");
  });
});

describe("steering_policy proximity", () => {
  const nearest = route({ steering_policy: "proximity", default_pools: ["spare", "eu", "us", "apac"] });

  it("orders located pools by distance from the visitor, unlocated ones after", () => {
    const decision = selectPools(nearest, input({ latitude: "48.85", longitude: "2.35" })); // Paris
    expect(decision.candidates.map((c) => c.pool.name)).toEqual(["eu", "us", "apac", "spare"]);
    expect(decision.reason).toMatch(/^nearest:eu \(\d+ km\)$/);
  });

  it("sends a visitor in Osaka to apac", () => {
    expect(poolOrder(nearest, input({ latitude: "34.69", longitude: "135.50" }))[0]).toBe("apac");
  });

  it("falls back to default_pools, visibly, without coordinates", () => {
    const decision = selectPools(nearest, input({ country: "DE" }));
    expect(decision.reason).toBe("default (no coordinates)");
    expect(decision.candidates.map((c) => c.pool.name)).toEqual(["spare", "eu", "us", "apac"]);
  });
});

describe("steering_policy random", () => {
  const weighted = route({ steering_policy: "random", random_steering: { default_weight: 0.1, pool_weights: { us: 0.8 } } });
  // weights eu 0.1, us 0.8, apac 0.1 -> [0, 0.1) eu, [0.1, 0.9) us, [0.9, 1) apac

  it.each([
    [0.05, "eu", ["eu", "us", "apac"]],
    [0.1, "us", ["us", "eu", "apac"]],
    [0.89, "us", ["us", "eu", "apac"]],
    [0.95, "apac", ["apac", "eu", "us"]],
  ])("with random %d picks %s first", (random, first, order) => {
    const decision = selectPools(weighted, input({}, { random: () => random }));
    expect(decision.reason).toBe(`random:${first}`);
    expect(decision.candidates.map((c) => c.pool.name)).toEqual(order);
  });
});

describe("origin_steering", () => {
  const multi = (policy: "random" | "hash" | "off") =>
    route({ default_pools: ["main"] }, [
      {
        name: "main",
        origin_steering: { policy },
        origins: [
          { name: "a", address: "https://a.example", weight: 0.5 },
          { name: "b", address: "https://b.example", weight: 0.5 },
          { name: "off", address: "https://off.example", enabled: false },
        ],
      },
    ]);
  const origins = (r: CompiledRoute, i: SteeringInput) => selectPools(r, i).candidates.map((c) => c.origin.name);

  it("random: picks by weight, the other follows, disabled origins never appear", () => {
    expect(origins(multi("random"), input({}, { random: () => 0.2 }))).toEqual(["a", "b"]);
    expect(origins(multi("random"), input({}, { random: () => 0.7 }))).toEqual(["b", "a"]);
  });

  it("hash: the same client always gets the same first origin", () => {
    const first = origins(multi("hash"), input({}, { clientIp: "198.51.100.1" }))[0];
    for (let i = 0; i < 5; i += 1) expect(origins(multi("hash"), input({}, { clientIp: "198.51.100.1", random: Math.random }))[0]).toBe(first);
    const seen = new Set(Array.from({ length: 50 }, (_, i) => origins(multi("hash"), input({}, { clientIp: `198.51.100.${i}` }))[0]));
    expect(seen).toEqual(new Set(["a", "b"]));
  });

  it("off: the order listed", () => {
    expect(origins(multi("off"), input({}, { random: () => 0.9 }))).toEqual(["a", "b"]);
  });
});

describe("orderByHealth", () => {
  it("moves origins behind an open circuit to the end, keeping them as a last resort", () => {
    const r = route({});
    const health = new OriginHealth(new TestClock());
    const candidates = selectPools(r, input({})).candidates;
    for (let i = 0; i < 5; i += 1) health.recordConnectionFailure(candidates[0]!);
    expect(orderByHealth(candidates, health).map((c) => c.pool.name)).toEqual(["us", "apac", "eu"]);
  });

  it("keeps the steering order when everything is up", () => {
    const candidates = selectPools(route({}), input({})).candidates;
    expect(orderByHealth(candidates, new OriginHealth(new TestClock()))).toEqual(candidates);
  });
});

describe("pools pinned by the location (an origin shield steers as its location did)", () => {
  const geo = route({ steering_policy: "geo", country_pools: { DE: ["eu"] }, fallback_pool: "spare" });

  it("tries the pinned pools first, in their order, then the route's failover, whatever request.cf says", () => {
    const decision = selectPools(geo, input({ country: "DE" }), ["apac", "spare"]);
    expect(decision.candidates.map((c) => c.pool.name)).toEqual(["apac", "spare", "eu", "us"]);
    expect(decision.reason).toBe("shield:apac");
  });

  it("ignores a name the route does not know (a configuration changed under way)", () => {
    const decision = selectPools(geo, input(undefined), ["gone", "us"]);
    expect(decision.candidates.map((c) => c.pool.name)).toEqual(["us", "eu", "apac", "spare"]);
  });
});

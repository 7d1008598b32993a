// Stage: the ordered list of origins to try for a route, and why that order.
// The steering policy picks the preferred pools; the rest of default_pools, then fallback_pool,
// follow as failover. Within each pool, origin_steering picks the first origin and the others
// follow in listed order. Health is applied afterwards (orderByHealth).
import type { OriginConfig, PoolConfig } from "../config/schema.ts";
import type { CompiledRoute } from "../config/validate-config.ts";
import type { OriginHealth, OriginRef } from "../health/origin-health.ts";
import { distanceKm, visitorCoordinates } from "./proximity.ts";
import { regionOf } from "./regions.ts";
import { chosenFirst, hashString, pickWeighted, type Random } from "./weighted.ts";

/** One origin of one pool: what steering orders and health judges. */
export type Candidate = OriginRef;

/** The request.cf fields steering reads; all optional (local dev and unknown IPs lack them). */
export type VisitorCf = Partial<Record<"colo" | "country" | "continent" | "regionCode" | "latitude" | "longitude", unknown>>;

/**
 * What steering may read about the request. Getters, because request.cf is materialised on first
 * access, which costs CPU: policies that do not need it (off, random) never touch it.
 */
export interface SteeringInput {
  readonly cf: VisitorCf | undefined;
  readonly clientIp: string | null;
  random: Random;
}

export function steeringInput(request: Request, random: Random): SteeringInput {
  return {
    get cf() {
      return request.cf as VisitorCf | undefined;
    },
    get clientIp() {
      return request.headers.get("cf-connecting-ip");
    },
    random,
  };
}

export interface SteeringDecision {
  candidates: Candidate[];
  /** Why the first pool was chosen, e.g. "country:DE", "nearest:eu (412 km)", "default (no geo data)". */
  reason: string;
}

interface PoolChoice {
  preferred: PoolConfig[];
  reason: string;
}

function chooseGeo(route: CompiledRoute, cf: SteeringInput["cf"]): PoolChoice {
  const colo = typeof cf?.colo === "string" ? cf.colo.toUpperCase() : undefined;
  const country = typeof cf?.country === "string" ? cf.country.toUpperCase() : undefined;
  const continent = typeof cf?.continent === "string" ? cf.continent.toUpperCase() : undefined;
  const region = country ? regionOf(country, typeof cf?.regionCode === "string" ? cf.regionCode : undefined) : undefined;
  const levels: Array<[string, string | undefined, ReadonlyMap<string, PoolConfig[]>]> = [
    ["colo", colo, route.geoPools.pop],
    ["country", country, route.geoPools.country],
    ["region", region, route.geoPools.region],
    ["continent", continent, route.geoPools.continent],
  ];
  for (const [level, key, table] of levels) {
    const pools = key === undefined ? undefined : table.get(key);
    if (pools) return { preferred: pools, reason: `${level}:${key}` };
  }
  // Local dev and unknown IPs have no location: say so instead of guessing.
  return { preferred: [], reason: country || continent || colo ? "default" : "default (no geo data)" };
}

function chooseNearest(route: CompiledRoute, cf: SteeringInput["cf"]): PoolChoice {
  const visitor = visitorCoordinates(cf);
  if (!visitor) return { preferred: [], reason: "default (no coordinates)" };
  const located = route.pools.flatMap((pool) =>
    pool.latitude === undefined || pool.longitude === undefined ? [] : [{ pool, km: distanceKm(visitor, { latitude: pool.latitude, longitude: pool.longitude }) }],
  );
  located.sort((a, b) => a.km - b.km);
  const nearest = located[0];
  if (!nearest) return { preferred: [], reason: "default (no pool coordinates)" };
  return { preferred: located.map(({ pool }) => pool), reason: `nearest:${nearest.pool.name} (${Math.round(nearest.km)} km)` };
}

function chooseWeighted(route: CompiledRoute, random: Random): PoolChoice {
  const { default_weight, pool_weights } = route.random_steering;
  const index = pickWeighted(route.pools.map((pool) => pool_weights[pool.name] ?? default_weight), random);
  if (index < 0) return { preferred: [], reason: "default (all weights 0)" };
  return { preferred: [route.pools[index]!], reason: `random:${route.pools[index]!.name}` };
}

function choosePools(route: CompiledRoute, input: SteeringInput): PoolChoice {
  switch (route.steering_policy) {
    case "geo":
      return chooseGeo(route, input.cf);
    case "proximity":
      return chooseNearest(route, input.cf);
    case "random":
      return chooseWeighted(route, input.random);
    case "off":
      return { preferred: [], reason: "default" };
  }
}

function pinnedPools(route: CompiledRoute, names: readonly string[]): PoolChoice {
  const known = route.fallbackPool ? [...route.pools, route.fallbackPool] : route.pools;
  const preferred = names.flatMap((name) => known.filter((pool) => pool.name === name));
  return { preferred, reason: `shield:${preferred[0]?.name ?? "default"}` };
}

function orderOrigins(pool: PoolConfig, input: SteeringInput): OriginConfig[] {
  const enabled = pool.origins.filter((origin) => origin.enabled);
  switch (pool.origin_steering.policy) {
    case "off":
      return enabled;
    case "hash": {
      const weighted = enabled.filter((origin) => origin.weight > 0);
      if (weighted.length === 0) return enabled;
      return chosenFirst(enabled, enabled.indexOf(weighted[hashString(input.clientIp ?? "") % weighted.length]!));
    }
    case "random":
      return chosenFirst(enabled, pickWeighted(enabled.map((origin) => origin.weight), input.random));
  }
}

/**
 * `pinned`: pool names already chosen elsewhere, tried first in this order (an origin shield steers
 * as the location that asked it did: the shield has no visitor, so no request.cf of its own).
 */
export function selectPools(route: CompiledRoute, input: SteeringInput, pinned?: readonly string[]): SteeringDecision {
  const { preferred, reason } = pinned ? pinnedPools(route, pinned) : choosePools(route, input);
  const pools = [...new Set([...preferred, ...route.pools, ...(route.fallbackPool ? [route.fallbackPool] : [])])];
  const candidates = pools.flatMap((pool) => orderOrigins(pool, input).map((origin) => ({ pool, origin })));
  return { candidates, reason };
}

/**
 * Origins that are up go first, in steering order. Origins marked down (health check) or behind an
 * open circuit go last rather than nowhere: when everything is down, they are still tried in order.
 */
export function orderByHealth(candidates: Candidate[], health: OriginHealth): Candidate[] {
  const available = candidates.filter((candidate) => health.isAvailable(candidate));
  if (available.length === candidates.length) return candidates;
  return [...available, ...candidates.filter((candidate) => !available.includes(candidate))];
}

// Stage: the ordered list of origins to try for a route, and why that order.
// steering_policy "off" (Cloudflare Load Balancing's name for ordered failover): default_pools in
// order, then fallback_pool; within a pool, its enabled origins in the order listed.
import type { CompiledRoute } from "../config/validate-config.ts";
import type { OriginConfig, PoolConfig } from "../config/schema.ts";

export interface Candidate {
  pool: PoolConfig;
  origin: OriginConfig;
}

export interface SteeringDecision {
  candidates: Candidate[];
  /** Short reason shown in the Outpost-Upstream header, e.g. "off". */
  reason: string;
}

export function selectPools(route: CompiledRoute): SteeringDecision {
  const pools = [...route.pools];
  if (route.fallbackPool && !pools.includes(route.fallbackPool)) pools.push(route.fallbackPool);
  const candidates = pools.flatMap((pool) =>
    pool.origins.filter((origin) => origin.enabled).map((origin) => ({ pool, origin })),
  );
  return { candidates, reason: route.steering_policy };
}

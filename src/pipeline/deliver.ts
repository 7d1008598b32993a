// Stage: the origin's response as the client receives it: hop-by-hop fields removed, Via added
// (RFC 9110 §7.6.3), and Outpost-Upstream naming what served it. The body streams through untouched.
import type { CompiledRoute } from "../config/validate-config.ts";
import { appendToList, sfString, viaEntry, withoutHopByHop } from "../lib/headers.ts";
import type { AttemptRecord } from "../origin/fetch-with-failover.ts";
import type { Candidate } from "./select-pools.ts";

export const UPSTREAM_HEADER = "outpost-upstream";

export interface Served {
  route: CompiledRoute;
  candidate: Candidate;
  steeringReason: string;
  attempts: AttemptRecord[];
}

/**
 * RFC 8941 dictionary, e.g.
 * `route="site", pool="eu", origin="eu-1", steering="geo", reason="country:DE", attempts=1`.
 * attempts > 1 means failover happened; the pool and origin are the ones that answered.
 */
export function describeUpstream({ route, candidate, steeringReason, attempts }: Served): string {
  return [
    `route=${sfString(route.name)}`,
    `pool=${sfString(candidate.pool.name)}`,
    `origin=${sfString(candidate.origin.name)}`,
    `steering=${sfString(route.steering_policy)}`,
    `reason=${sfString(steeringReason)}`,
    `attempts=${attempts.length}`,
  ].join(", ");
}

export function deliverResponse(upstream: Response, served: Served): Response {
  const headers = withoutHopByHop(upstream.headers);
  appendToList(headers, "via", viaEntry(undefined));
  headers.set(UPSTREAM_HEADER, describeUpstream(served));
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
}

// Stage: steer, apply health, and try origins. Shared by the plain proxy path and the cache's
// misses and refreshes.
import type { CompiledRoute } from "../config/validate-config.ts";
import { OutpostError } from "../lib/errors.ts";
import { learnSharedDemotions, reportOpenedCircuits, type SharedHealthContext } from "../coordination/shared-health.ts";
import { askShield, shieldOf, type ShieldUse } from "../coordination/shield-client.ts";
import { SHIELD_POOLS_HEADER } from "../coordination/shield-protocol.ts";
import type { RequestTrace } from "../observe/request-trace.ts";
import { fetchWithFailover, type AttemptRecord, type FailoverResult } from "../origin/fetch-with-failover.ts";
import type { PipelineDeps, PipelineEnv } from "./types.ts";
import { orderByHealth, selectPools, steeringInput, type Candidate } from "../steering/select-pools.ts";

export interface Forwarded {
  result: FailoverResult;
  steeringReason: string;
  /** Set when the pool has an origin shield: what it answered, or why this location went to the origin itself. */
  shield?: ShieldUse;
}

/**
 * `trace` is the client's request trace; background refreshes have none. `shared` carries what
 * shared health needs (coordination/shared-health.ts); without it, or with it off, no call is made.
 * `viaShield`: a cache fill, which goes to the first pool's origin shield when it has one
 * (coordination/shield-client.ts); an origin shield itself steers to the pools the location chose.
 */
export async function forwardToOrigin(
  request: Request,
  route: CompiledRoute,
  env: PipelineEnv,
  deps: PipelineDeps,
  trace?: RequestTrace,
  shared?: SharedHealthContext,
  viaShield = false,
): Promise<Forwarded> {
  const pinned = env.OUTPOST_SHIELD_ROLE ? request.headers.get(SHIELD_POOLS_HEADER)?.split(",") : undefined;
  const steering = selectPools(route, steeringInput(request, deps.random), pinned);
  await Promise.all([deps.health.refresh(env.OUTPOST_CACHE), learnSharedDemotions(shared, steering.candidates.map((candidate) => candidate.pool), deps)]);
  const candidates = orderByHealth(steering.candidates, deps.health);
  const startedAt = deps.clock.now();
  const shielded = viaShield ? await askPoolShield(request, route, candidates, steering.reason, env, deps, startedAt, trace) : undefined;
  if (shielded && "result" in shielded) return shielded;
  const result = await fetchWithFailover(request, route, candidates, deps);
  reportOpenedCircuits(shared, deps);
  if (trace) {
    const answered = result.kind === "response" ? result.candidate : undefined;
    trace.pool = answered?.pool.name;
    trace.origin = answered?.origin.name;
    trace.phase("origin", startedAt, answered ? `${answered.pool.name}/${answered.origin.name}` : "failed");
  }
  return { result, steeringReason: steering.reason, ...(shielded && { shield: shielded }) };
}

/**
 * A fill whose first pool has an origin shield goes to it (coordination/shield-client.ts): its
 * answer, or its report that every origin failed, is the fill's; a bypass says why this location
 * fetches the origin itself. Undefined when the pool has no shield (or this worker no binding).
 */
async function askPoolShield(
  request: Request,
  route: CompiledRoute,
  candidates: Candidate[],
  steeringReason: string,
  env: PipelineEnv,
  deps: PipelineDeps,
  startedAt: number,
  trace: RequestTrace | undefined,
): Promise<Forwarded | Extract<ShieldUse, { answered: false }> | undefined> {
  const first = candidates[0];
  const shield = shieldOf(first?.pool, env);
  if (!first || !shield) return undefined;
  const asked = await askShield({
    request,
    pool: first.pool,
    shield,
    poolOrder: [...new Set(candidates.map((candidate) => candidate.pool.name))],
    purgesAt: deps.purges.ledger.newestAt,
    country: route.cache.key.country && typeof request.cf?.country === "string" ? request.cf.country : undefined,
    namespace: env.OUTPOST_SHIELD!,
    clock: deps.clock,
    circuits: deps.shields,
  });
  trace?.phase("shield", startedAt, asked.kind === "bypass" ? `bypass:${asked.reason}` : asked.kind === "answered" ? asked.outcome : "origin-failed");
  if (asked.kind === "bypass") return { answered: false, reason: asked.reason };
  if (asked.kind === "origin-failed") {
    return { result: { kind: "failed", attempts: asked.attempts, clientAborted: false }, steeringReason, shield: { answered: true, outcome: "origin-failed" } };
  }
  if (trace) trace.pool = first.pool.name;
  return { result: { kind: "response", response: asked.response, candidate: first, attempts: [] }, steeringReason, shield: { answered: true, outcome: asked.outcome, tags: asked.tags } };
}

/** 504 when every attempt ran out of time, 502 otherwise; the body names each attempt (never addresses). */
export function upstreamFailure(route: CompiledRoute, attempts: AttemptRecord[]): OutpostError {
  const timedOut = attempts.length > 0 && attempts.every((a) => a.outcome === "timeout" || a.outcome === "deadline");
  const details = {
    route: route.name,
    attempts: attempts.map((a) => ({ pool: a.pool, origin: a.origin, outcome: a.outcome, status: a.status, elapsed_ms: a.elapsedMs })),
  };
  if (attempts.length === 0) {
    return new OutpostError(502, "origin_unreachable", `Route "${route.name}" has no enabled origin`, details);
  }
  const invalid = attempts.find((a) => a.outcome === "invalid_status");
  if (invalid) {
    const message = `Origin "${invalid.pool}/${invalid.origin}" answered with status ${invalid.status}, outside 200-599`;
    return new OutpostError(502, "origin_invalid_status", message, details);
  }
  if (timedOut) {
    return new OutpostError(504, "origin_timeout", `Every origin for route "${route.name}" timed out`, details);
  }
  return new OutpostError(502, "origin_unreachable", `No origin for route "${route.name}" could be reached`, details);
}

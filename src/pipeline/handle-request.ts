// The request flow, top to bottom. Each stage is one function in this folder (or in ../origin) and
// returns a value; this file only decides which stage comes next.
//
//   config    -> invalid?           500 config_invalid (problems are in the log)
//   route     -> no match?          404 no_route (never an open proxy)
//   steering  -> ordered candidates: the policy's pools (geo, proximity, random, off), then the
//                rest of default_pools, then fallback_pool; origins up first, down ones last
//   origin    -> first origin that answers; all failed? 502 origin_unreachable / 504 origin_timeout
//   deliver   -> strip hop-by-hop, add Via and Outpost-Upstream, stream the body
import { loadConfig, type ConfigEnv } from "../config/load-config.ts";
import type { CompiledRoute } from "../config/validate-config.ts";
import type { OriginHealth } from "../health/origin-health.ts";
import type { Clock } from "../lib/clock.ts";
import { OutpostError } from "../lib/errors.ts";
import { fetchWithFailover, type AttemptRecord } from "../origin/fetch-with-failover.ts";
import { deliverResponse } from "./deliver.ts";
import { matchRoute } from "./match-route.ts";
import { orderByHealth, selectPools, type VisitorCf } from "./select-pools.ts";
import type { Random } from "../steering/weighted.ts";

export interface PipelineDeps {
  clock: Clock;
  random: Random;
  /** This isolate's view of origin health (circuit breakers + the shared health snapshot). */
  health: OriginHealth;
}

export interface PipelineEnv extends ConfigEnv {
  OUTPOST_CACHE?: KVNamespace;
}

export async function handleRequest(request: Request, env: PipelineEnv, deps: PipelineDeps): Promise<Response> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    throw new OutpostError(500, "config_invalid", "Outpost's configuration is invalid; the worker log lists every problem (run `npm run check` locally).");
  }

  const url = new URL(request.url);
  const route = matchRoute(loaded.config, url);
  if (!route) throw new OutpostError(404, "no_route", `No route is configured for ${url.host}${url.pathname}`);

  const steering = selectPools(route, { cf: request.cf as VisitorCf | undefined, clientIp: request.headers.get("cf-connecting-ip"), random: deps.random });
  await deps.health.refresh(env.OUTPOST_CACHE);
  const candidates = orderByHealth(steering.candidates, deps.health);
  const result = await fetchWithFailover(request, route, candidates, deps);
  if (result.kind === "failed") throw upstreamFailure(route, result.attempts);

  return deliverResponse(result.response, {
    route,
    candidate: result.candidate,
    steeringReason: steering.reason,
    attempts: result.attempts,
  });
}

/** 504 when every attempt ran out of time, 502 otherwise; the body names each attempt (never addresses). */
function upstreamFailure(route: CompiledRoute, attempts: AttemptRecord[]): OutpostError {
  const timedOut = attempts.length > 0 && attempts.every((a) => a.outcome === "timeout" || a.outcome === "deadline");
  const details = {
    route: route.name,
    attempts: attempts.map((a) => ({ pool: a.pool, origin: a.origin, outcome: a.outcome, elapsed_ms: a.elapsedMs })),
  };
  if (attempts.length === 0) {
    return new OutpostError(502, "origin_unreachable", `Route "${route.name}" has no enabled origin`, details);
  }
  if (timedOut) {
    return new OutpostError(504, "origin_timeout", `Every origin for route "${route.name}" timed out`, details);
  }
  return new OutpostError(502, "origin_unreachable", `No origin for route "${route.name}" could be reached`, details);
}

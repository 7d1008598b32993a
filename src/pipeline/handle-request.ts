// The request flow, top to bottom. Each stage is one function in this folder (or in ../origin,
// ../cache) and returns a value; this file only decides which stage comes next.
//
//   config    -> invalid?           500 config_invalid (problems are in the log)
//   route     -> no match?          404 no_route (never an open proxy)
//   websocket -> Upgrade: websocket: websocket.ts (steered, failover on connect only, never cached)
//   cache     -> GET/HEAD on a caching route: serve-with-cache.ts (lookup, stale rules, collapsed fills)
//   forward   -> steering (geo, proximity, random, off) + health + failover; all failed? 502 / 504
//                (a cache fill of a pool with `shield` asks its origin shield first: ../coordination/shield-client.ts)
//   deliver   -> strip hop-by-hop, add Via, Outpost-Upstream and Cache-Status, stream the body
//   invalidate-> a successful unsafe request marks the stored responses it changed stale (RFC 9111 §4.4)
// (The admin prefix is dispatched before this, in app.ts; Server-Timing, the request log and the
// counters after it, in observe/finish-request.ts.)
import type { CompiledConfig, ConfigValidation } from "../config/validate-config.ts";
import { OutpostError } from "../lib/errors.ts";
import type { RequestTrace } from "../observe/request-trace.ts";
import { deliverResponse } from "./deliver.ts";
import { forwardToOrigin, upstreamFailure } from "./forward.ts";
import { invalidateAfterUnsafeRequest } from "./invalidate.ts";
import { matchRoute } from "./match-route.ts";
import { cacheBypassReason, serveWithCache } from "./serve-with-cache.ts";
import type { PipelineDeps, PipelineEnv } from "./types.ts";
import { connectWebSocket, isWebSocketUpgrade } from "./websocket.ts";

/** The compiled configuration, or the 500 every request gets while it is broken. */
export function configOrThrow(loaded: ConfigValidation): CompiledConfig {
  if (!loaded.ok) {
    throw new OutpostError(500, "config_invalid", "Outpost's configuration is invalid; the worker log lists every problem (run `npm run check` locally).");
  }
  return loaded.config;
}

/** `url` is `request.url` and `loaded` the env's configuration, both read once by the caller. */
export async function handleRequest(
  request: Request,
  url: URL,
  loaded: ConfigValidation,
  env: PipelineEnv,
  exec: ExecutionContext,
  deps: PipelineDeps,
  trace: RequestTrace,
): Promise<Response> {
  const config = configOrThrow(loaded);
  const route = matchRoute(config, url);
  if (!route) throw new OutpostError(404, "no_route", `No route is configured for ${url.host}${url.pathname}`);
  trace.route = route.name;
  if (isWebSocketUpgrade(request)) return connectWebSocket(request, url, route, env, deps, trace);

  const bypass = cacheBypassReason(request, route);
  if (!bypass) return serveWithCache({ request, url, route, config, env, exec, deps, trace });

  trace.cacheStatus = bypass;
  const { result, steeringReason } = await forwardToOrigin(request, route, env, deps, trace, {
    env,
    coordination: config.coordination,
    cacheVersion: config.cacheVersion,
    exec,
    colo: request.cf?.colo,
  });
  if (result.kind === "failed") throw upstreamFailure(route, result.attempts);
  const response = deliverResponse(result.response, { route, candidate: result.candidate, steeringReason, attempts: result.attempts }, bypass);
  invalidateAfterUnsafeRequest({ request, url, route, response, config, deps });
  return response;
}

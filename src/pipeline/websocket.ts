// Stage: a WebSocket upgrade (RFC 6455 §4.1), passed through to the steered origin.
//
//   route, steering, health order   -> the same stages as any request (a WebSocket never hits the cache)
//   connect to origins in order     -> failover only until one answers the handshake: once the
//                                      origin has said 101, the connection belongs to it for its life
//   101 with a webSocket            -> returned as is: workerd joins the client's socket to the origin's
//                                      and relays every message without running this Worker again
//   any other answer                -> delivered like a normal response (a 426 or 404 is the origin's word)
//
// Upgrade and Connection are hop-by-hop (RFC 9110 §7.6.1), so the plain proxy strips them; here the
// upgrade is exactly what is forwarded. workerd's fetch() opens a WebSocket client connection when
// the request carries `Upgrade: websocket`, and writes its own handshake (key, version, extensions),
// so the client's Sec-WebSocket-Key/-Version/-Extensions are not copied; Sec-WebSocket-Protocol
// (the application's subprotocol) is.
import { formatCacheStatus, type CacheStatus } from "../cache/cache-status.ts";
import type { CompiledRoute } from "../config/validate-config.ts";
import { appendToList, hopByHopAnd, VIA_ENTRY, withoutHopByHop } from "../lib/headers.ts";
import type { RequestTrace } from "../observe/request-trace.ts";
import { buildUpstreamHeaders, buildUpstreamUrl } from "../origin/build-upstream-request.ts";
import { fetchWithFailover } from "../origin/fetch-with-failover.ts";
import { orderByHealth, selectPools, steeringInput } from "../steering/select-pools.ts";
import { describeUpstream, UPSTREAM_HEADER } from "./deliver.ts";
import { upstreamFailure } from "./forward.ts";
import type { PipelineDeps, PipelineEnv } from "./types.ts";

/** The handshake fields workerd writes itself for its own connection to the origin. */
const NOT_SENT_WITH_UPGRADE = ["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"];
/** Not passed back on the 101: the handshake answer belongs to the origin's hop (workerd answers the client's). */
const NOT_PASSED_BACK = hopByHopAnd(["sec-websocket-accept", "sec-websocket-extensions"]);

/** A GET with `Upgrade: websocket` (RFC 6455 §4.1: the handshake is a GET; the token is case-insensitive, §4.2.1). */
export function isWebSocketUpgrade(request: Request): boolean {
  if (request.method !== "GET") return false;
  const upgrade = request.headers.get("upgrade");
  return upgrade !== null && upgrade.trim().toLowerCase() === "websocket";
}

function upgradeRequest(request: Request, url: URL, origin: Parameters<typeof buildUpstreamHeaders>[1], signal: AbortSignal): Request {
  const headers = buildUpstreamHeaders(request, origin, url);
  for (const name of NOT_SENT_WITH_UPGRADE) headers.delete(name);
  headers.set("upgrade", "websocket");
  return new Request(buildUpstreamUrl(origin.address, url), { method: "GET", headers, redirect: "manual", signal });
}

/**
 * Tries the route's origins in steering order until one answers the handshake. A connect error or
 * a timeout (origin_timeout_ms, bounded by deadline_ms) moves on to the next origin; an answer,
 * whatever its status, is final unless it is one of retry_on_statuses.
 */
export async function connectWebSocket(request: Request, url: URL, route: CompiledRoute, env: PipelineEnv, deps: PipelineDeps, trace: RequestTrace): Promise<Response> {
  const steering = selectPools(route, steeringInput(request, deps.random));
  await deps.health.refresh(env.OUTPOST_CACHE);
  const candidates = orderByHealth(steering.candidates, deps.health);
  const startedAt = deps.clock.now();
  const result = await fetchWithFailover(request, route, candidates, deps, {
    build: (origin, _body, signal) => upgradeRequest(request, url, origin, signal),
    attachClient: false,
  });
  const answered = result.kind === "response" ? result : undefined;
  const status: CacheStatus = { fwd: "bypass", detail: "websocket" };
  trace.cacheStatus = status;
  trace.pool = answered?.candidate.pool.name;
  trace.origin = answered?.candidate.origin.name;
  trace.phase("origin", startedAt, answered ? `${answered.candidate.pool.name}/${answered.candidate.origin.name}` : "failed");
  if (!answered) throw upstreamFailure(route, result.attempts);
  const { response, candidate, attempts } = answered;
  const headers = withoutHopByHop(response.headers, NOT_PASSED_BACK);
  appendToList(headers, "via", VIA_ENTRY);
  headers.set(UPSTREAM_HEADER, describeUpstream({ route, candidate, steeringReason: steering.reason, attempts }));
  headers.set("cache-status", formatCacheStatus(status));
  return new Response(response.webSocket ? null : response.body, { status: response.status, statusText: response.statusText, headers, webSocket: response.webSocket });
}

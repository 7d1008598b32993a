// The request Outpost sends to an origin: the origin's address (from config, never from the request)
// plus the client's path and query, the client's headers minus hop-by-hop fields, and the
// forwarding fields an origin needs to know who asked (X-Forwarded-*, Via).
// Every Request Outpost sends upstream (fills, revalidations, background refreshes, health probes)
// is built here, and every one says `cache: "no-store"`: otherwise a Worker's subrequest goes through
// the zone's own cache, a tier Outpost can neither key nor purge (compatibility date >= 2024-11-11).
import type { MonitorConfig, OriginConfig } from "../config/schema.ts";
import { SHIELD_REQUEST_HEADERS } from "../coordination/shield-protocol.ts";
import { appendToList, hopByHopAnd, VIA_ENTRY, withoutHopByHop } from "../lib/headers.ts";

/** The origin's address joined with the request's path and query. */
export function buildUpstreamUrl(originAddress: string, requestUrl: URL): string {
  const upstream = new URL(originAddress);
  const basePath = upstream.pathname.replace(/\/+$/, "");
  upstream.pathname = basePath + requestUrl.pathname;
  upstream.search = requestUrl.search;
  return upstream.toString();
}

/**
 * Forwarding fields that only a proxy may set, and that origins and frameworks read to build
 * absolute URLs and redirects. A client's own values are dropped (Outpost sets X-Forwarded-Proto and
 * X-Forwarded-Host itself): otherwise one request could make the origin answer with another host,
 * scheme or prefix, and the cache would store that answer for everyone.
 */
const CLIENT_FORWARDING_FIELDS = ["forwarded", "x-forwarded-scheme", "x-forwarded-port", "x-forwarded-prefix", "x-forwarded-server", "x-forwarded-ssl", "x-host", "x-original-host"];
/** Not sent upstream: hop-by-hop fields, the client's forwarding fields, Host (the origin's, or the override), and what a location tells its origin shield. */
const NOT_SENT_UPSTREAM = hopByHopAnd([...CLIENT_FORWARDING_FIELDS, "host", ...SHIELD_REQUEST_HEADERS]);

export function buildUpstreamHeaders(request: Request, origin: OriginConfig, requestUrl = new URL(request.url)): Headers {
  const headers = withoutHopByHop(request.headers, NOT_SENT_UPSTREAM);
  // Host follows the pool setting: the origin's own host unless the origin overrides it.
  const hostOverride = origin.header?.Host?.[0];
  if (hostOverride) headers.set("host", hostOverride);

  // CF-Connecting-IP is set by Cloudflare's edge (and by wrangler dev) and cannot be forged by the
  // client; append it to any X-Forwarded-For chain the client brought.
  const clientIp = request.headers.get("cf-connecting-ip");
  if (clientIp) appendToList(headers, "x-forwarded-for", clientIp);
  headers.set("x-forwarded-proto", requestUrl.protocol.slice(0, -1));
  headers.set("x-forwarded-host", requestUrl.host);
  appendToList(headers, "via", VIA_ENTRY);
  return headers;
}

/** Keeps upstream requests out of the zone's HTTP cache (Request.cache, Workers changelog 2024-11-11). */
export const UPSTREAM_CACHE_MODE = "no-store";

/** `body` is the client's stream (sent once) or a buffered copy (sent on every attempt). */
export function buildUpstreamRequest(
  request: Request,
  origin: OriginConfig,
  body: ReadableStream | ArrayBuffer | null,
  signal: AbortSignal,
): Request {
  const requestUrl = new URL(request.url);
  return new Request(buildUpstreamUrl(origin.address, requestUrl), {
    method: request.method,
    headers: buildUpstreamHeaders(request, origin, requestUrl),
    body,
    // Redirects belong to the client: pass 3xx through untouched (RFC 9110 §15.4).
    redirect: "manual",
    cache: UPSTREAM_CACHE_MODE,
    signal,
  });
}

export const HEALTH_CHECK_USER_AGENT = "Outpost-Health-Check/1";

/** A monitor's probe: the monitor's method and path on the origin's address, the origin's Host override. */
export function buildProbeRequest(origin: OriginConfig, monitor: MonitorConfig, signal: AbortSignal): Request {
  const headers = new Headers({ "user-agent": HEALTH_CHECK_USER_AGENT });
  const hostOverride = origin.header?.Host?.[0];
  if (hostOverride) headers.set("host", hostOverride);
  return new Request(buildUpstreamUrl(origin.address, new URL(monitor.path, "http://probe.invalid")), {
    method: monitor.method,
    headers,
    redirect: "manual",
    cache: UPSTREAM_CACHE_MODE,
    signal,
  });
}

// Stage: the origin's response as the client receives it: hop-by-hop fields removed, Via added
// (RFC 9110 §7.6.3), and Outpost-Upstream naming what served it. The body streams through untouched.
import { formatCacheStatus, type CacheStatus } from "../cache/cache-status.ts";
import { CACHE_TAG_HEADERS } from "../cache/cache-tags.ts";
import { isNotModified, notModifiedHeaders } from "../cache/conditional.ts";
import { discardBody, StreamedBody, type FoundResponse, type StoredBody } from "../cache/entry.ts";
import { decideRange, ifRangeAllows, sliceStream, type RangeDecision } from "../cache/range.ts";
import { ageSeconds } from "../cache/freshness.ts";
import type { CompiledRoute } from "../config/validate-config.ts";
import { appendToList, headersOf, hopByHopAnd, sfString, VIA_ENTRY, withoutHopByHop } from "../lib/headers.ts";
import type { ShieldUse } from "../coordination/shield-client.ts";
import type { AttemptRecord } from "../origin/fetch-with-failover.ts";
import type { Candidate } from "../steering/select-pools.ts";

export const UPSTREAM_HEADER = "outpost-upstream";

export interface Served {
  route: CompiledRoute;
  candidate: Candidate;
  steeringReason: string;
  attempts: AttemptRecord[];
  /** What the pool's origin shield did; when it answered, the pool and origin are the location's first choice, not necessarily the one that served the shield. */
  shield?: ShieldUse;
}

/**
 * RFC 8941 dictionary, e.g.
 * `route="site", pool="eu", origin="eu-1", steering="geo", reason="country:DE", attempts=1`.
 * attempts > 1 means failover happened; the pool and origin are the ones that answered.
 */
export function describeUpstream({ route, candidate, steeringReason, attempts, shield }: Served): string {
  const fields = [
    `route=${sfString(route.name)}`,
    `pool=${sfString(candidate.pool.name)}`,
    `origin=${sfString(candidate.origin.name)}`,
    `steering=${sfString(route.steering_policy)}`,
    `reason=${sfString(steeringReason)}`,
    `attempts=${attempts.length}`,
  ];
  if (shield?.answered) fields.push(`shield=${sfString(shield.outcome)}`);
  return fields.join(", ");
}

/** Not passed on: hop-by-hop fields, and what is addressed to CDNs like us (Surrogate-Control, purge tags). */
const NOT_PASSED_ON = hopByHopAnd(["surrogate-control", ...CACHE_TAG_HEADERS]);

/** The origin's response headers as Outpost passes them on (and stores them). */
export function deliveredHeaders(upstream: Headers): Headers {
  const headers = withoutHopByHop(upstream, NOT_PASSED_ON);
  appendToList(headers, "via", VIA_ENTRY);
  return headers;
}

export function deliverResponse(
  upstream: Response,
  served: Served,
  cacheStatus?: CacheStatus,
  body: ReadableStream | null = upstream.body,
  headers: Headers = deliveredHeaders(upstream.headers),
): Response {
  headers.set(UPSTREAM_HEADER, describeUpstream(served));
  if (cacheStatus) headers.set("cache-status", formatCacheStatus(cacheStatus));
  return new Response(body, { status: upstream.status, statusText: upstream.statusText, headers });
}

/**
 * A stored response as the client receives it: Age (RFC 9111 §5.1) and Cache-Status added, answered
 * with 304 when the client's preconditions match, without a body for HEAD. A streaming (large) entry
 * passes its stream on, or the range asked for.
 */
export function deliverEntry(stored: FoundResponse, request: Request, cacheStatus: CacheStatus, now: number): Response {
  // Copying a prepared Headers object (kept with hot-tier entries) stays inside the runtime.
  const headers = stored.headers ? new Headers(stored.headers) : headersOf(stored.meta.headers);
  headers.set("age", String(ageSeconds(stored.meta, now)));
  headers.set("cache-status", formatCacheStatus(cacheStatus));
  // Each `request.headers` is a call into the runtime, and under load every call counts: read it once.
  const requestHeaders = request.headers;
  const conditional = requestHeaders.has("if-none-match") || requestHeaders.has("if-modified-since");
  if (conditional && stored.meta.status === 200 && isNotModified(requestHeaders, (name) => headers.get(name), stored.meta.storedAt, now)) {
    discardBody(stored.body);
    return new Response(null, { status: 304, headers: notModifiedHeaders(headers) });
  }
  const bodiless = stored.meta.status === 204 || stored.meta.status === 304;
  const head = request.method === "HEAD"; // read once, like request.headers
  // HEAD: the Content-Length a GET would carry (RFC 9110 §8.6); a GET's comes from the runtime, which
  // frames the kept body itself (stored fields have none: fill-from-origin.ts).
  if (head && !bodiless) headers.set("content-length", String(stored.body.byteLength));
  if (head || bodiless) {
    discardBody(stored.body);
    return new Response(null, { status: stored.meta.status, headers });
  }
  if (stored.meta.status === 200 && requestHeaders.has("range") && ifRangeAllows(requestHeaders.get("if-range"), headers, now)) {
    return deliverRange(stored.body, headers, decideRange(requestHeaders.get("range"), stored.body.byteLength));
  }
  return new Response(bodyOf(stored.body), { status: stored.meta.status, headers });
}

/**
 * A client's Range cut from a whole 200 fetched for a collapsed fill (fill-from-origin.ts asks the
 * origin for the whole object). Without a known length, or with a content coding (the runtime
 * decodes bodies, so the declared length is not the decoded one), the whole 200 is the answer:
 * RFC 9110 §14.2 lets a server ignore Range.
 */
export function deliverRangeOfWhole(response: Response, requestHeaders: Headers, now: number): Response {
  const length = Number(response.headers.get("content-length") ?? Number.NaN);
  const encoded = (response.headers.get("content-encoding") ?? "identity") !== "identity";
  if (response.status !== 200 || !response.body || !Number.isSafeInteger(length) || encoded) return response;
  const headers = new Headers(response.headers);
  if (!ifRangeAllows(requestHeaders.get("if-range"), headers, now)) return response;
  return deliverRange(new StreamedBody(response.body, length), headers, decideRange(requestHeaders.get("range"), length));
}

const bodyOf = (body: StoredBody | StreamedBody) => (body instanceof StreamedBody ? body.stream : body);

function deliverRange(body: StoredBody | StreamedBody, headers: Headers, range: RangeDecision): Response {
  headers.set("accept-ranges", "bytes");
  if (range.kind === "unsatisfiable") {
    discardBody(body);
    headers.set("content-range", `bytes */${body.byteLength}`);
    headers.delete("content-length");
    return new Response(null, { status: 416, headers });
  }
  if (range.kind === "full") return new Response(bodyOf(body), { status: 200, headers });
  headers.set("content-range", `bytes ${range.start}-${range.end}/${body.byteLength}`);
  headers.delete("content-length");
  const part = body instanceof StreamedBody ? sliceStream(body.stream, range.start, range.end) : body.slice(range.start, range.end + 1);
  return new Response(part, { status: 206, headers });
}

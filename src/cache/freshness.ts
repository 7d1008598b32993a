// The only owner of RFC 9111 rules: may a response be stored, for how long is it fresh, how long may
// it be served stale, and may a stored entry answer a request now. Time always comes in as an
// argument; nothing here reads a clock.
import type { CachePolicy } from "../config/schema.ts";
import { headersOf } from "../lib/headers.ts";
import { parseCookies } from "./cache-key.ts";
import { deltaSeconds, has, parseDirectives, parseTargetedDirectives, type Directives } from "./cache-control.ts";
import { parseHttpDate } from "./http-date.ts";

/** Status codes that are heuristically cacheable (RFC 9110 §15.1), minus 206 (we store only whole objects). */
const HEURISTICALLY_CACHEABLE = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);
/** Status codes whose semantics Outpost understands, for must-understand (RFC 9111 §5.2.2.3). */
const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);
/** How long a response that is stale on arrival but has a validator is kept for conditional revalidation. */
const REVALIDATION_RETENTION_SECONDS = 3600;
/** Heuristic freshness: 10% of the time since Last-Modified (RFC 9111 §4.2.2), at most a day. */
const HEURISTIC_FRACTION = 0.1;
const HEURISTIC_MAX_SECONDS = 86_400;

export type BypassReason =
  | "method"
  | "partial-content"
  | "status"
  | "no-store"
  | "private"
  | "authorization"
  | "set-cookie"
  | "vary-star"
  | "must-understand"
  | "not-fresh"
  | "heuristic-with-cookie"
  /** A 5xx from a refill: the stored entry stays for stale-if-error. */
  | "error-over-entry";

export type StorageDecision =
  | {
      store: true;
      /** Freshness lifetime (RFC 9111 §4.2.1), seconds. */
      lifetimeSeconds: number;
      /** Age when received (RFC 9111 §4.2.3), seconds. */
      initialAgeSeconds: number;
      staleWhileRevalidateSeconds: number;
      staleIfErrorSeconds: number;
      /** Extra seconds to keep the entry after its stale windows, for revalidation with validators. */
      revalidationRetentionSeconds: number;
      /** Stale must never be served without revalidation, whatever a request's max-stale says (RFC 9111 §4.2.4). */
      mustRevalidate: boolean;
    }
  | { store: false; reason: BypassReason };

export interface StorageInput {
  method: string;
  requestHeaders: Headers;
  status: number;
  responseHeaders: Headers;
  policy: CachePolicy;
  /** When the response arrived, ms since the epoch. */
  receivedAt: number;
  /** The answer would replace a stored response (a refill or revalidation of a found entry). */
  replacesEntry?: boolean;
  /** When the request that brought it was sent (RFC 9111 §4.2.3 request_time); receivedAt when unknown. */
  requestedAt?: number;
}

/**
 * The directives this cache obeys: CDN-Cache-Control (RFC 9213) or, failing that, Surrogate-Control
 * replace Cache-Control entirely for a CDN; Cache-Control otherwise. A CDN-Cache-Control that is
 * empty or fails to parse as a Structured Field is ignored as if absent (RFC 9213 §2.1); so is an
 * empty Surrogate-Control.
 */
export function effectiveDirectives(headers: Headers, policy: Pick<CachePolicy, "ignore_origin_no_cache">): { directives: Directives; targeted: boolean } {
  const cdn = parseTargetedDirectives(headers.get("cdn-cache-control"));
  const surrogate = cdn ? null : headers.get("surrogate-control") || null;
  const targeted = cdn !== undefined || surrogate !== null;
  const parsed = cdn ?? parseDirectives(surrogate ?? headers.get("cache-control"));
  if (!policy.ignore_origin_no_cache || !parsed.values.has("no-cache")) return { directives: parsed, targeted };
  const values = new Map(parsed.values);
  values.delete("no-cache");
  return { directives: { values, conflicting: parsed.conflicting }, targeted };
}

/**
 * Age (RFC 9111 §5.1) in seconds: of a list, the first member; an invalid value (not a non-negative
 * integer: text, a sign, a fraction, parameters) is ignored, as if absent. Values beyond 2^31 are
 * clamped (delta-seconds, RFC 9111 §1.2.2).
 */
export function parseAge(value: string | null): number | undefined {
  if (value === null) return undefined;
  const first = value.split(",", 1)[0]!.trim();
  return /^\d+$/.test(first) ? Math.min(Number(first), 2 ** 31) : undefined;
}

/**
 * Corrected initial age (RFC 9111 §4.2.3): the larger of the apparent age (response time minus Date)
 * and the Age value plus the response delay (response time minus request time), which counts the
 * time the answer spent travelling to us.
 */
export function initialAgeSeconds(headers: Headers, receivedAt: number, requestedAt = receivedAt): number {
  const ageValue = parseAge(headers.get("age")) ?? 0;
  const responseDelay = Math.max(0, (receivedAt - requestedAt) / 1000);
  const date = parseHttpDate(headers.get("date"), receivedAt);
  const apparentAge = date === undefined ? 0 : Math.max(0, (receivedAt - date) / 1000);
  return Math.max(apparentAge, ageValue + responseDelay);
}

/** Explicit freshness lifetime, or undefined when the response gives none (RFC 9111 §4.2.1). */
function explicitLifetime(directives: Directives, targeted: boolean, headers: Headers, receivedAt: number): number | undefined {
  // Conflicting duplicates: treat the response as stale (RFC 9111 §4.2.1).
  if (directives.conflicting.has("s-maxage") || directives.conflicting.has("max-age")) return 0;
  const sharedMaxAge = deltaSeconds(directives, "s-maxage");
  if (sharedMaxAge !== undefined) return sharedMaxAge;
  const maxAge = deltaSeconds(directives, "max-age");
  if (maxAge !== undefined) return maxAge;
  if (has(directives, "max-age") || has(directives, "s-maxage")) return 0; // present but invalid
  if (targeted || !headers.has("expires")) return undefined;
  // An invalid Expires, such as "0", means already expired (RFC 9111 §5.3).
  const expires = parseHttpDate(headers.get("expires"), receivedAt);
  if (expires === undefined) return 0;
  const date = parseHttpDate(headers.get("date"), receivedAt) ?? receivedAt;
  return Math.max(0, (expires - date) / 1000);
}

function heuristicLifetime(headers: Headers, receivedAt: number): number | undefined {
  const lastModified = parseHttpDate(headers.get("last-modified"), receivedAt);
  if (lastModified === undefined) return undefined;
  const date = parseHttpDate(headers.get("date"), receivedAt) ?? receivedAt;
  if (date <= lastModified) return undefined;
  return Math.min(HEURISTIC_MAX_SECONDS, Math.floor(((date - lastModified) / 1000) * HEURISTIC_FRACTION));
}

export function decideStorage({ method, requestHeaders, status, responseHeaders, policy, receivedAt, requestedAt, replacesEntry = false }: StorageInput): StorageDecision {
  if (method !== "GET") return { store: false, reason: "method" };
  if (status === 206) return { store: false, reason: "partial-content" };
  if (status < 200) return { store: false, reason: "status" };
  // A request's no-store forbids storing the response to it (RFC 9111 §5.2.1.5).
  if (has(parseDirectives(requestHeaders.get("cache-control")), "no-store")) return { store: false, reason: "no-store" };

  const { directives, targeted } = effectiveDirectives(responseHeaders, policy);
  if (has(directives, "must-understand")) {
    // must-understand overrides no-store for status codes the cache understands (RFC 9111 §5.2.2.3).
    if (!UNDERSTOOD.has(status)) return { store: false, reason: "must-understand" };
  } else if (has(directives, "no-store")) {
    return { store: false, reason: "no-store" };
  }
  if (has(directives, "private")) return { store: false, reason: "private" };
  // RFC 9111 §3.5 allows storing an answer to an authenticated request the origin marks public,
  // s-maxage or must-revalidate; a route does so only when it opts in (origins send must-revalidate
  // on personal pages), and a configured TTL never does.
  const publiclyCacheable = has(directives, "public") || has(directives, "s-maxage") || has(directives, "must-revalidate");
  if (requestHeaders.has("authorization") && !(policy.cache_authorized && publiclyCacheable)) return { store: false, reason: "authorization" };
  if (responseHeaders.has("set-cookie") && !policy.strip_set_cookie) return { store: false, reason: "set-cookie" };
  if ((responseHeaders.get("vary") ?? "").split(",").some((name) => name.trim() === "*")) return { store: false, reason: "vary-star" };
  // Only the route's statuses: one client can provoke a 400 or a 431, and a 5xx is transient.
  if (!policy.cache_statuses.includes(status)) return { store: false, reason: "status" };
  // An error never replaces a stored entry: stale-if-error (RFC 5861 §4) needs the last good answer.
  if (replacesEntry && status >= 500) return { store: false, reason: "error-over-entry" };

  // Whether is decided by the origin's own freshness (or a heuristic); a configured TTL (edge_ttl_seconds,
  // status_ttl_seconds) then changes how long, never whether.
  const originLifetime = explicitLifetime(directives, targeted, responseHeaders, receivedAt);
  const isPublic = has(directives, "public");
  // Without explicit freshness only heuristically cacheable statuses, or `public`, may be stored (RFC 9111 §4.2.2).
  if (originLifetime === undefined && !HEURISTICALLY_CACHEABLE.has(status) && !isPublic) return { store: false, reason: "status" };
  // Sharing an answer to a request with cookies takes the origin's word: positive explicit freshness
  // or public. A guess (heuristic) or "stale at once" (revalidated later with another visitor's
  // validators) may be a personal page that only forgot Cache-Control, and a route's TTL is no word
  // of the origin's. Cookies in key.cookies or public_cookies do not make a request personal.
  if (!(originLifetime !== undefined && originLifetime > 0) && !isPublic && hasPersonalCookie(requestHeaders, policy)) {
    return { store: false, reason: "heuristic-with-cookie" };
  }
  let lifetimeSeconds =
    policy.edge_ttl_seconds ?? originLifetime ?? policy.status_ttl_seconds[String(status)] ?? heuristicLifetime(responseHeaders, receivedAt) ?? 0;
  // no-cache: may be stored, but never reused without revalidation (RFC 9111 §5.2.2.4), whatever the
  // route's TTL (ignore_origin_no_cache is the explicit override).
  if (has(directives, "no-cache")) lifetimeSeconds = 0;

  const initialAge = initialAgeSeconds(responseHeaders, receivedAt, requestedAt);
  // Stale on arrival is worth keeping only when it can be revalidated cheaply (a 304 instead of the body).
  const revalidatable = hasValidator(responseHeaders);
  if (lifetimeSeconds <= initialAge && !revalidatable) return { store: false, reason: "not-fresh" };

  // must-revalidate, proxy-revalidate and no-cache forbid serving stale (RFC 9111 §4.2.4, §5.2.2.2, §5.2.2.8);
  // s-maxage implies proxy-revalidate (§5.2.2.10) unless the origin grants stale windows explicitly.
  const forbidsStale = has(directives, "must-revalidate") || has(directives, "proxy-revalidate") || has(directives, "no-cache");
  const impliesRevalidate = has(directives, "s-maxage");
  const window = (directive: string, fallback: number) => {
    if (forbidsStale) return 0;
    return deltaSeconds(directives, directive) ?? (impliesRevalidate ? 0 : fallback);
  };
  return {
    store: true,
    lifetimeSeconds,
    initialAgeSeconds: initialAge,
    staleWhileRevalidateSeconds: window("stale-while-revalidate", policy.stale_while_revalidate_seconds),
    staleIfErrorSeconds: Math.min(window("stale-if-error", policy.stale_if_error_seconds), policy.max_stale_if_error_seconds ?? Number.POSITIVE_INFINITY),
    revalidationRetentionSeconds: revalidatable ? REVALIDATION_RETENTION_SECONDS : 0,
    mustRevalidate: forbidsStale || impliesRevalidate,
  };
}

function hasValidator(headers: Headers): boolean {
  return headers.has("etag") || headers.has("last-modified");
}

/** Does the request carry a cookie other than key.cookies and public_cookies? Unparsable ones count. */
function hasPersonalCookie(requestHeaders: Headers, policy: CachePolicy): boolean {
  const header = requestHeaders.get("cookie");
  if (header === null || header.trim() === "") return false;
  const cookies = parseCookies(header);
  if (cookies.size === 0) return true;
  return [...cookies.keys()].some((name) => !policy.key.cookies.includes(name) && !policy.public_cookies.includes(name));
}

/** The timestamps an entry carries; freshness is decided from them, never from storage expiry. */
export interface EntryTimes {
  storedAt: number;
  initialAgeSeconds: number;
  freshUntilAt: number;
  staleWhileRevalidateUntilAt: number;
  staleIfErrorUntilAt: number;
  /** Until when a storage tier should keep the entry at all. */
  keepUntilAt: number;
  /**
   * The response forbids serving it stale unrevalidated (must-revalidate, proxy-revalidate, no-cache,
   * s-maxage): no request's max-stale overrides that (RFC 9111 §4.2.4). Absent in older entries.
   */
  mustRevalidate?: true;
}

export function entryTimes(decision: Extract<StorageDecision, { store: true }>, receivedAt: number): EntryTimes {
  // An entry stale on arrival is simply stale: its freshness never starts before it was received.
  const freshUntilAt = receivedAt + Math.max(0, decision.lifetimeSeconds - decision.initialAgeSeconds) * 1000;
  const staleWhileRevalidateUntilAt = freshUntilAt + decision.staleWhileRevalidateSeconds * 1000;
  const staleIfErrorUntilAt = freshUntilAt + decision.staleIfErrorSeconds * 1000;
  return {
    storedAt: receivedAt,
    initialAgeSeconds: decision.initialAgeSeconds,
    freshUntilAt,
    staleWhileRevalidateUntilAt,
    staleIfErrorUntilAt,
    keepUntilAt: Math.max(staleWhileRevalidateUntilAt, staleIfErrorUntilAt, freshUntilAt + decision.revalidationRetentionSeconds * 1000),
    // Present even when undefined, so that a 304's update ({ ...meta, ...entryTimes() }) clears it.
    mustRevalidate: decision.mustRevalidate ? true : undefined,
  };
}

/** Current age in whole seconds (RFC 9111 §4.2.3, §5.1). */
export function ageSeconds(times: EntryTimes, now: number): number {
  return Math.max(0, Math.floor(times.initialAgeSeconds + (now - times.storedAt) / 1000));
}

/** Seconds of freshness left; negative once stale (Cache-Status ttl, RFC 9211 §2.6). */
export function ttlSeconds(times: EntryTimes, now: number): number {
  return Math.floor((times.freshUntilAt - now) / 1000);
}

export type Reuse =
  | { kind: "fresh" }
  | { kind: "stale-while-revalidate" }
  /** Must go to the origin; the entry may still serve if the origin fails (stale-if-error). */
  | { kind: "forward"; reason: "stale" | "request" };

/**
 * May this entry answer this request without contacting the origin? Request directives count only
 * when the route honours them (RFC 9111 §5.2.1); by default a visitor cannot force a fetch.
 */
export function decideReuse(times: EntryTimes, requestCacheControl: string | null, honorRequest: boolean, now: number): Reuse {
  const request = honorRequest ? parseDirectives(requestCacheControl) : undefined;
  const age = ageSeconds(times, now);
  const ttl = (times.freshUntilAt - now) / 1000;
  if (request) {
    if (has(request, "no-cache")) return { kind: "forward", reason: "request" };
    const maxAge = deltaSeconds(request, "max-age");
    if (maxAge !== undefined && age > maxAge) return { kind: "forward", reason: "request" };
    const minFresh = deltaSeconds(request, "min-fresh");
    if (minFresh !== undefined && ttl < minFresh) return { kind: "forward", reason: "request" };
  }
  if (now < times.freshUntilAt) return { kind: "fresh" };
  // max-stale never overrides must-revalidate, proxy-revalidate, s-maxage or no-cache (RFC 9111
  // §5.2.2.2, §5.2.2.8, §5.2.2.10, §5.2.2.4).
  if (request && has(request, "max-stale") && !times.mustRevalidate) {
    const maxStale = deltaSeconds(request, "max-stale");
    if (maxStale === undefined || -ttl <= maxStale) return { kind: "fresh" };
  }
  if (now < times.staleWhileRevalidateUntilAt) return { kind: "stale-while-revalidate" };
  return { kind: "forward", reason: "stale" };
}

/**
 * A soft purge at `at`: the entry is stale from then on, its stale windows (stale-while-revalidate,
 * stale-if-error) counted from the purge instead of from the end of its freshness.
 */
export function staleFrom<T extends EntryTimes>(times: T, at: number): T {
  const shift = times.freshUntilAt - at;
  if (shift <= 0) return times;
  return {
    ...times,
    freshUntilAt: at,
    staleWhileRevalidateUntilAt: times.staleWhileRevalidateUntilAt - shift,
    staleIfErrorUntilAt: times.staleIfErrorUntilAt - shift,
  };
}

/**
 * May a stale entry answer because the origin failed? Within its own stale-if-error window, or within
 * the request's (`requestSeconds`, from requestStaleIfErrorSeconds) counted from the end of freshness.
 */
export function isUsableOnError(times: EntryTimes, now: number, requestSeconds = 0): boolean {
  return now < times.staleIfErrorUntilAt || now < times.freshUntilAt + requestSeconds * 1000;
}

/**
 * The origin answers that count as errors for stale-if-error (RFC 5861 §4: "500, 502, 503, or 504").
 * Not 501 or 505 (the origin's definite answer about the method or version), nor any 4xx.
 */
export function isStaleIfErrorStatus(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * A request's stale-if-error=N (RFC 5861 §4; honoured only where the route honours request
 * directives): the client accepts an answer up to N seconds stale when the origin fails. Never
 * beyond max_stale_if_error_seconds, and 0 when the stored response forbids serving stale
 * (must-revalidate, proxy-revalidate, no-cache, s-maxage: RFC 9111 §4.2.4, §5.2.2.10).
 */
export function requestStaleIfErrorSeconds(requestCacheControl: string | null, storedHeaders: ReadonlyArray<readonly [string, string]>, policy: CachePolicy): number {
  const requested = deltaSeconds(parseDirectives(requestCacheControl), "stale-if-error");
  if (requested === undefined) return 0;
  const { directives } = effectiveDirectives(headersOf(storedHeaders), policy);
  if (["must-revalidate", "proxy-revalidate", "no-cache", "s-maxage"].some((name) => has(directives, name))) return 0;
  return Math.min(requested, policy.max_stale_if_error_seconds ?? Number.POSITIVE_INFINITY);
}

// The cache's state machine for one cacheable request (GET or HEAD on a route with caching on):
//
//   lookup   -> hot tier, location tier, KV (a Vary marker leads to the request's variant); a large
//               entry from a storage tier arrives as a stream, read whole only for what needs its bytes
//   purged?  -> the purge ledger judges what was found: hard-purged is a miss, soft-purged is stale;
//               invalidated by an unsafe request (invalidate.ts) is stale and must be revalidated
//   fresh    -> deliver HIT
//   stale, within stale-while-revalidate -> deliver HIT now, refresh in waitUntil (once per isolate)
//   miss / stale -> fill-from-origin.ts: collapsed, conditional when a validator exists;
//               storable -> stream to the client while the copy is stored; waiters get the copy,
//               or the fill's failure once (at the latest at the route's deadline)
//   origin failed or answered 500/502/503/504, entry within stale-if-error -> deliver the stale entry
//               (looked up then if hit-for-pass skipped the lookup)
import type { CacheStatus, ForwardReason } from "../cache/cache-status.ts";
import { ambiguousKeyedCookie, buildCacheKey, isKeyedByUrlOnly, normalizeQuery, parseCookies } from "../cache/cache-key.ts";
import { has, parseDirectives } from "../cache/cache-control.ts";
import type { FillReservation } from "../cache/fill-budget.ts";
import { discardBody, isStreamed, wholeResponse, type FoundResponse, type ResponseEntryMeta, type StoredResponse } from "../cache/entry.ts";
import { decideReuse, isStaleIfErrorStatus, isUsableOnError, requestStaleIfErrorSeconds, staleFrom, ttlSeconds } from "../cache/freshness.ts";
import type { Lookup, TieredStore } from "../cache/tiered-store.ts";
import { invalidatedTimes } from "../cache/soft-invalidations.ts";
import { variantKey } from "../cache/variants.ts";
import type { CompiledRoute } from "../config/validate-config.ts";
import { SHIELD_PURGES_HEADER } from "../coordination/shield-protocol.ts";
import { OutpostError } from "../lib/errors.ts";
import { fileIdentity, type PurgeLedger, type PurgeVerdict } from "../purge/purge-ledger.ts";
import { describeError, logEvent } from "../lib/log.ts";
import { deliverEntry, deliverRangeOfWhole, deliverResponse } from "./deliver.ts";
import { fetchAndStore, fillFromOrigin, originRequest } from "./fill-from-origin.ts";
import { upstreamFailure } from "./forward.ts";
import type { CacheRequest, Found, Hit } from "./types.ts";

/** Why a request skips the cache entirely, or undefined when it may use it. */
export function cacheBypassReason(request: Request, route: CompiledRoute): { fwd: ForwardReason; detail?: string } | undefined {
  if (!route.cache.enabled) return { fwd: "bypass", detail: "disabled" };
  if (request.method !== "GET" && request.method !== "HEAD") return { fwd: "method" };
  // A keyed cookie sent twice with different values: the key and the origin could read different ones.
  if (route.cache.key.cookies.length > 0 && ambiguousKeyedCookie(request.headers.get("cookie"), route.cache.key.cookies)) return { fwd: "bypass", detail: "ambiguous-cookie" };
  if (route.cache.bypass_cookies.length > 0) {
    const cookies = parseCookies(request.headers.get("cookie"));
    if (route.cache.bypass_cookies.some((name) => cookies.has(name))) return { fwd: "bypass", detail: "cookie" };
  }
  return undefined;
}

/** What the purge ledger says of an entry stored for this URL (also used by explain). */
export function purgeVerdict(ledger: PurgeLedger, url: URL, route: CompiledRoute, meta: ResponseEntryMeta): PurgeVerdict {
  return ledger.verdict({
    storedAt: meta.storedAt,
    host: url.hostname,
    path: url.pathname,
    file: () => fileIdentity(url.hostname, url.pathname, normalizeQuery(url.search, route.cache.query)),
    tags: meta.tags,
  });
}

/** The ledger's verdict on a found entry; most entries were stored after the last purge (one comparison). */
function afterPurges(lookedUp: Found, ctx: CacheRequest): Found {
  if (lookedUp.kind === "miss") return lookedUp;
  const found = afterInvalidation(lookedUp, ctx);
  const { ledger } = ctx.deps.purges;
  const { meta } = found.stored;
  if (meta.storedAt >= ledger.newestAt) return found;
  const verdict = purgeVerdict(ledger, ctx.url, ctx.route, meta);
  if (verdict.kind === "none") return found;
  if (verdict.kind === "hard") {
    discardBody(found.stored.body);
    return { kind: "miss", fwd: "miss", primaryKey: found.primaryKey, marker: found.marker, purged: true };
  }
  return { ...found, stored: { ...found.stored, meta: staleFrom(meta, verdict.at) } };
}

/** An entry stored before an unsafe request invalidated its URL in this isolate is stale (RFC 9111 §4.4). */
function afterInvalidation(found: Hit<FoundResponse>, { deps, url, route }: CacheRequest): Hit<FoundResponse> {
  const { invalidations } = deps.cacheState;
  if (found.stored.meta.storedAt > invalidations.newestAt) return found; // the hot path: no closure, no identity
  const at = invalidations.invalidatedAt(found.stored.meta.storedAt, () => fileIdentity(url.hostname, url.pathname, normalizeQuery(url.search, route.cache.query)));
  return at === undefined ? found : { ...found, stored: { ...found.stored, meta: invalidatedTimes(found.stored.meta, at) } };
}

function findEntry(store: TieredStore, key: string, ctx: CacheRequest, now: number): Found | Promise<Found> {
  // A hot-tier hit of a plain (not Vary) entry needs no await at all.
  const hot = store.getHot(key, now);
  if (store.hasMemory) ctx.trace.phase("memory", now, hot ? "hit" : "miss");
  if (hot?.record.meta.kind === "response") return { kind: "hit", stored: hot.record as StoredResponse, tier: hot.tier, primaryKey: key };
  return findInTiers(store, key, hot, ctx, now);
}

/** `hot` is what the hot tier already answered for `key` (a Vary marker, or nothing). */
async function findInTiers(store: TieredStore, key: string, hot: Lookup | undefined, { request, exec, trace }: CacheRequest, now: number): Promise<Found> {
  const background = (work: Promise<unknown>) => exec.waitUntil(work);
  const primary = hot ?? (await store.getFromStorage(key, background, now, trace));
  if (!primary) return { kind: "miss", fwd: "miss", primaryKey: key };
  if (primary.record.meta.kind === "response") return { kind: "hit", stored: primary.record as FoundResponse, tier: primary.tier, primaryKey: key };
  const marker = primary.record.meta;
  const variantAt = await variantKey(key, marker, request.headers);
  const variant = store.getHot(variantAt, now) ?? (await store.getFromStorage(variantAt, background, now, trace));
  if (variant?.record.meta.kind !== "response") return { kind: "miss", fwd: "vary-miss", primaryKey: key, marker };
  return { kind: "hit", stored: variant.record as FoundResponse, tier: variant.tier, primaryKey: key, marker };
}

/**
 * The request's cache key, remembered per route and URL when the route is keyed by the URL alone.
 * `headers` is `request.headers`, read once by the caller.
 */
function cacheKeyOf({ request, url, route, config, deps }: CacheRequest, headers: Headers): string | Promise<string> {
  const build = () =>
    buildCacheKey({
      url,
      headers,
      // request.cf is materialised on first access, which costs CPU on every hit: read it only when keyed by it.
      country: route.cache.key.country && typeof request.cf?.country === "string" ? request.cf.country : undefined,
      routeName: route.name,
      cacheVersion: config.cacheVersion,
      policy: route.cache,
    });
  return isKeyedByUrlOnly(route.cache) ? deps.cacheState.keyFor(route, url.href, build) : build();
}

export async function serveWithCache(ctx: CacheRequest): Promise<Response> {
  const { request, route, config, deps, trace } = ctx;
  const requestHeaders = request.headers; // one call into the runtime, not one per field read
  const store = deps.cacheState.openStore(ctx.env.OUTPOST_CACHE, ctx.config.cacheTiers);
  const ledgerRead = deps.purges.ensureFresh(ctx.env, config.cacheVersion, (work) => ctx.exec.waitUntil(work), config.coordination, request);
  if (ledgerRead) await ledgerRead;
  // Hits are the hot path: what is not a promise is not awaited (no extra microtask turns).
  const keyResult = cacheKeyOf(ctx, requestHeaders);
  const key = typeof keyResult === "string" ? keyResult : await keyResult;
  const reported = (status: CacheStatus): CacheStatus => (trace.cacheStatus = route.cache.expose_key ? { ...status, key } : status);
  // Answers to authenticated requests may be stored when the origin allows it (RFC 9111 §3.5), but
  // an authenticated request is never answered from, nor collapsed into, another visitor's fill.
  const authenticated = requestHeaders.has("authorization");
  // A URL whose last answer could not be stored skips the storage reads for a while: an uncacheable
  // page costs one origin fetch, not three lookups and a fetch. Its answers are still checked and
  // stored as soon as they become storable.
  const lookupAt = deps.clock.now();
  const recentlyUncacheable = deps.cacheState.isRecentlyUncacheable(key, lookupAt);
  const skipLookup = authenticated || recentlyUncacheable || behindCallersPurges(ctx, requestHeaders);
  const lookup = skipLookup ? ({ kind: "miss", fwd: "miss", primaryKey: key } satisfies Found) : findEntry(store, key, ctx, lookupAt);
  const found = afterPurges(lookup instanceof Promise ? await lookup : lookup, ctx);
  const honorRequest = route.cache.request_cache_control === "honor";
  // A request that forbids storing (honoured directives only) cannot lead a fill others wait for.
  const requestNoStore = honorRequest && has(parseDirectives(requestHeaders.get("cache-control")), "no-store");
  let fwd: ForwardReason = skipLookup ? "bypass" : found.kind === "miss" ? found.fwd : "stale";

  if (found.kind === "hit") {
    const now = found.tier === "memory" ? lookupAt : deps.clock.now();
    const reuse = decideReuse(found.stored.meta, honorRequest ? requestHeaders.get("cache-control") : null, honorRequest, now);
    if (reuse.kind === "forward") fwd = reuse.reason;
    if (reuse.kind === "fresh") {
      return deliverStored(ctx, found.stored, reported({ hit: true, ttl: ttlSeconds(found.stored.meta, now), detail: found.tier }), now);
    }
    if (reuse.kind === "stale-while-revalidate") {
      const status = reported({ hit: true, ttl: ttlSeconds(found.stored.meta, now), detail: `${found.tier}:stale-while-revalidate` });
      // The background refresh may need the bytes (a 304 keeps them) while the client reads the
      // entry, so the one request that refreshes reads a streaming entry whole, within the fill
      // budget (cache/fill-budget.ts); every other stale hit streams it.
      const streamed = isStreamed(found.stored);
      let refresh = claimRefresh(ctx, key);
      const reservation = refresh && streamed ? deps.cacheState.fills.reserve(found.stored.body.byteLength) : undefined;
      if (refresh && streamed && !reservation) refresh = releaseRefresh(ctx, key);
      if (!refresh) return deliverStored(ctx, found.stored, status, now);
      let stored = wholeResponse(found.stored);
      if (stored instanceof Promise) {
        try {
          stored = await stored;
        } catch (error) {
          reservation?.release();
          releaseRefresh(ctx, key);
          throw error;
        }
      }
      refreshInBackground(ctx, key, { ...found, stored }, reservation);
      return deliverStored(ctx, stored, status, now);
    }
  }
  if (honorRequest && has(parseDirectives(requestHeaders.get("cache-control")), "only-if-cached")) {
    // RFC 9111 §5.2.1.7: nothing stored satisfies the request (no entry, or only a stale one) -> 504,
    // and the origin is not asked.
    if (found.kind === "hit") discardBody(found.stored.body);
    throw new OutpostError(504, "not_cached", "The request asked for a cached response only (only-if-cached) and no usable one is stored");
  }

  deps.cacheState.admission.noteOriginRequest(key, route.cache.admission, lookupAt); // counts toward storage admission
  const fill = await fillFromOrigin(ctx, key, found, { collapse: !skipLookup && request.method === "GET" && !requestNoStore });
  const now = deps.clock.now();
  const requestWindow = found.kind === "hit" && honorRequest ? requestStaleIfErrorSeconds(requestHeaders.get("cache-control"), found.stored.meta.headers, route.cache) : 0;
  // Hit-for-pass skipped the lookup; it must never hide the entry stale-if-error needs: look now.
  const staleSkipped = () => (recentlyUncacheable && !authenticated ? findStaleForError(store, key, ctx, now) : undefined);
  const stale = found.kind === "hit" && isUsableOnError(found.stored.meta, now, requestWindow) ? found.stored : undefined;
  const servingStale = stale && (fill.kind === "failed" || (fill.kind === "response" && isStaleIfErrorStatus(fill.response.status)));
  // A streaming stale entry that is not served is let go (a 304 has read it whole: fill-from-origin.ts).
  if (found.kind === "hit" && !servingStale && fill.kind !== "revalidated") discardBody(found.stored.body);

  if (fill.kind === "shared") {
    return deliverStored(ctx, fill.stored, reported({ fwd, collapsed: true, ttl: ttlSeconds(fill.stored.meta, now), detail: "collapsed" }), now);
  }
  if (fill.kind === "revalidated") {
    const revalidated = deliverStored(ctx, fill.stored, reported({ fwd, fwdStatus: 304, stored: fill.written, ttl: ttlSeconds(fill.stored.meta, now) }), now);
    // The 304's Set-Cookie is this client's alone (never in the stored entry: not-modified.ts).
    for (const cookie of fill.setCookies) revalidated.headers.append("set-cookie", cookie);
    return revalidated;
  }
  if (fill.kind === "failed") {
    // A waiter's fill may have failed with the origin's error status: the same rule as the leader's.
    const rescue = fill.status === undefined || isStaleIfErrorStatus(fill.status) ? (stale ?? (await staleSkipped())) : undefined;
    if (rescue) return deliverStored(ctx, rescue, reported({ fwd: "stale", ttl: ttlSeconds(rescue.meta, now), detail: "stale-if-error" }), now);
    // A waiter answers with the failure of the fill it waited for, once; the leader with its own.
    throw fill.error ?? upstreamFailure(route, fill.attempts);
  }
  const { response } = fill;
  const rescue = isStaleIfErrorStatus(response.status) ? (stale ?? (await staleSkipped())) : undefined;
  if (rescue) {
    await fill.body?.cancel();
    return deliverStored(ctx, rescue, reported({ fwd: "stale", fwdStatus: response.status, ttl: ttlSeconds(rescue.meta, now), detail: "stale-if-error" }), now);
  }
  const status: CacheStatus = { fwd, fwdStatus: response.status, stored: fill.times !== undefined, detail: joinDetails(fill.bypass ?? (found.kind === "miss" && found.purged ? "purged" : undefined), fill.served.shield?.answered === false && "shield-bypass") };
  if (fill.times) {
    status.ttl = ttlSeconds(fill.times, now);
    if (recentlyUncacheable) deps.cacheState.forgetUncacheable(key);
  } else if (found.kind === "miss" && !found.marker && !authenticated && fill.bypass !== "fill-budget" && response.status < 500 && request.method === "GET" && !requestHeaders.has("range") && !isRequestSide(fill.bypass, requestNoStore)) {
    // Only plain misses of whole objects, unstorable because of the URL's answer: a key with a stored
    // entry (a Vary marker: its variants) must stay visible for stale-if-error, a range's 206 says
    // nothing about the whole object, and one client's request must not switch the cache off for all.
    deps.cacheState.rememberUncacheable(key, now);
  }
  if (recentlyUncacheable && !fill.times) status.detail = `recently-uncacheable:${fill.bypass}`;
  const delivered = deliverResponse(response, { route, ...fill.served }, reported(status), fill.body, fill.headers);
  // A collapsed fill asked for the whole object: this client's range is cut from it.
  return requestHeaders.has("range") && request.method === "GET" ? deliverRangeOfWhole(delivered, requestHeaders, now) : delivered;
}

/** deliverEntry, and at an origin shield the entry's purge tags for the location (they are never delivered as fields). */
function deliverStored(ctx: CacheRequest, stored: FoundResponse, status: CacheStatus, now: number): Response {
  if (!ctx.env.OUTPOST_SHIELD_ROLE) return deliverEntry(stored, ctx.request, status, now);
  ctx.trace.cacheTags = stored.meta.tags;
  const response = deliverEntry(stored, ctx.request, status, now);
  // A streaming body's length, so the location can tell a body that broke off from a whole one (shield-client.ts).
  if (response.status === 200 && isStreamed(stored) && !response.headers.has("content-length")) response.headers.set("content-length", String(stored.body.byteLength));
  return response;
}

/**
 * An origin shield (coordination/origin-shield.ts) asked by a location that knows a purge newer than
 * any in the shield's ledger cannot judge its stored copies: it fetches afresh (and stores what it
 * gets) until its own ledger catches up, so the purge never comes back to that location.
 */
function behindCallersPurges({ env, deps }: CacheRequest, requestHeaders: Headers): boolean {
  if (!env.OUTPOST_SHIELD_ROLE) return false;
  const callerPurgesAt = Number(requestHeaders.get(SHIELD_PURGES_HEADER));
  return Number.isFinite(callerPurgesAt) && callerPurgesAt > deps.purges.ledger.newestAt;
}

/** Cache-Status has one detail (RFC 9211 §2.8): several reasons are listed in it, comma-separated. */
function joinDetails(...details: Array<string | false | undefined>): string | undefined {
  const listed = details.filter((detail): detail is string => typeof detail === "string");
  return listed.length > 0 ? listed.join(",") : undefined;
}

/** Why an answer went unstored because of this request (its Authorization, Cookie or honoured no-store), not the URL's answer. */
function isRequestSide(bypass: string | undefined, requestNoStore: boolean): boolean {
  return bypass === "authorization" || bypass === "heuristic-with-cookie" || bypass === "method" || (bypass === "no-store" && requestNoStore);
}

/** The stored entry for `key` if stale-if-error still allows it (for a request that skipped the lookup). */
async function findStaleForError(store: TieredStore, key: string, ctx: CacheRequest, now: number): Promise<FoundResponse | undefined> {
  const lookup = findEntry(store, key, ctx, now);
  const found = afterPurges(lookup instanceof Promise ? await lookup : lookup, ctx);
  if (found.kind !== "hit") return undefined;
  if (isUsableOnError(found.stored.meta, now)) return found.stored;
  discardBody(found.stored.body);
  return undefined;
}

/** stale-while-revalidate: one background refresh per key per isolate at a time, and per second. True when this request refreshes. */
function claimRefresh(ctx: CacheRequest, key: string): boolean {
  const { refreshing, refreshThrottle } = ctx.deps.cacheState;
  if (refreshing.has(key) || !refreshThrottle.allow(key, ctx.deps.clock.now())) return false;
  refreshing.add(key);
  return true;
}

function releaseRefresh(ctx: CacheRequest, key: string): false {
  ctx.deps.cacheState.refreshing.delete(key);
  return false;
}

/** The refresh claimed by claimRefresh; `reservation` (the stale bytes held for a 304) is released when it ends. */
function refreshInBackground(ctx: CacheRequest, key: string, found: Hit<StoredResponse>, reservation?: FillReservation): void {
  const refresh = fetchAndStore(ctx, originRequest(ctx, true), found, undefined, true)
    .then(async (fill) => {
      if (fill.kind === "response" && !fill.times) await fill.body?.cancel();
    })
    .catch((error: unknown) => logEvent("warn", "cache_refresh_failed", { route: ctx.route.name, error: describeError(error) }))
    .finally(() => {
      releaseRefresh(ctx, key);
      reservation?.release();
    });
  ctx.exec.waitUntil(refresh);
}

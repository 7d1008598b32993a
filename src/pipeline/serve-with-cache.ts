// The cache's state machine for one cacheable request (GET or HEAD on a route with caching on):
//
//   lookup   -> colo tier, then KV (a Vary marker leads to the request's variant)
//   fresh    -> deliver HIT
//   stale, within stale-while-revalidate -> deliver HIT now, refresh in waitUntil (once per isolate)
//   miss / stale -> fill from the origin, collapsed: one origin request per key per isolate;
//               storable -> stream to the client while the copy is stored; waiters get the copy
//   origin failed or answered 5xx, entry within stale-if-error -> deliver the stale entry
import type { CacheStatus, ForwardReason } from "../cache/cache-status.ts";
import type { SharedFill } from "../cache/cache-state.ts";
import { buildCacheKey, parseCookies } from "../cache/cache-key.ts";
import { has, parseDirectives } from "../cache/cache-control.ts";
import type { ResponseEntryMeta, StoredResponse, VaryMarkerMeta } from "../cache/entry.ts";
import { decideReuse, decideStorage, entryTimes, hasValidator, isUsableOnError, ttlSeconds, type StorageDecision } from "../cache/freshness.ts";
import type { TieredStore, TierName } from "../cache/tiered-store.ts";
import { variantKey, variantValues, varyHeaderNames } from "../cache/variants.ts";
import type { CompiledConfig, CompiledRoute } from "../config/validate-config.ts";
import { OutpostError } from "../lib/errors.ts";
import { describeError, logEvent } from "../lib/log.ts";
import { deliverEntry, deliveredHeaders, deliverResponse } from "./deliver.ts";
import { forwardToOrigin, upstreamFailure, type Forwarded } from "./forward.ts";
import type { PipelineDeps, PipelineEnv } from "./handle-request.ts";

export interface CacheRequest {
  request: Request;
  url: URL;
  route: CompiledRoute;
  config: CompiledConfig;
  env: PipelineEnv;
  exec: ExecutionContext;
  deps: PipelineDeps;
}

/** Why a request skips the cache entirely, or undefined when it may use it. */
export function cacheBypassReason(request: Request, route: CompiledRoute): { fwd: ForwardReason; detail?: string } | undefined {
  if (!route.cache.enabled) return { fwd: "bypass", detail: "disabled" };
  if (request.method !== "GET" && request.method !== "HEAD") return { fwd: "method" };
  const cookies = parseCookies(request.headers.get("cookie"));
  if (route.cache.bypass_cookies.some((name) => cookies.has(name))) return { fwd: "bypass", detail: "cookie" };
  return undefined;
}

/** `primaryKey` is the URL's key; `marker` the Vary marker stored there, if any. */
type Found =
  | { kind: "hit"; stored: StoredResponse; tier: TierName; primaryKey: string; marker?: VaryMarkerMeta }
  | { kind: "miss"; fwd: "miss" | "vary-miss"; primaryKey: string; marker?: VaryMarkerMeta };

function findEntry(store: TieredStore, key: string, request: Request, exec: ExecutionContext, now: number): Found | Promise<Found> {
  // A hot-tier hit of a plain (not Vary) entry needs no await at all.
  const hot = store.getHot(key, now);
  if (hot?.record.meta.kind === "response") return { kind: "hit", stored: hot.record as StoredResponse, tier: hot.tier, primaryKey: key };
  return findInTiers(store, key, request, exec, now);
}

async function findInTiers(store: TieredStore, key: string, request: Request, exec: ExecutionContext, now: number): Promise<Found> {
  const background = (work: Promise<unknown>) => exec.waitUntil(work);
  const primary = await store.get(key, background, now);
  if (!primary) return { kind: "miss", fwd: "miss", primaryKey: key };
  if (primary.record.meta.kind === "response") return { kind: "hit", stored: primary.record as StoredResponse, tier: primary.tier, primaryKey: key };
  const marker = primary.record.meta;
  const variant = await store.get(await variantKey(key, marker, request.headers), background, now);
  if (variant?.record.meta.kind !== "response") return { kind: "miss", fwd: "vary-miss", primaryKey: key, marker };
  return { kind: "hit", stored: variant.record as StoredResponse, tier: variant.tier, primaryKey: key, marker };
}

export async function serveWithCache(ctx: CacheRequest): Promise<Response> {
  const { request, url, route, config, deps } = ctx;
  const store = deps.cacheState.openStore(ctx.env.OUTPOST_CACHE, ctx.config.cacheTiers);
  // Hits are the hot path: what is not a promise is not awaited (no extra microtask turns).
  const keyResult = buildCacheKey({
    url,
    headers: request.headers,
    // request.cf is materialised on first access, which costs CPU on every hit: read it only when keyed by it.
    country: route.cache.key.country && typeof request.cf?.country === "string" ? request.cf.country : undefined,
    routeName: route.name,
    cacheVersion: config.cacheVersion,
    policy: route.cache,
  });
  const key = typeof keyResult === "string" ? keyResult : await keyResult;
  // Answers to authenticated requests may be stored when the origin allows it (RFC 9111 §3.5), but
  // an authenticated request is never answered from, nor collapsed into, another visitor's fill.
  const authenticated = request.headers.has("authorization");
  // A URL whose last answer could not be stored skips the storage reads for a while: an uncacheable
  // page costs one origin fetch, not three lookups and a fetch. Its answers are still checked and
  // stored as soon as they become storable.
  const lookupAt = deps.clock.now();
  const recentlyUncacheable = deps.cacheState.isRecentlyUncacheable(key, lookupAt);
  const skipLookup = authenticated || recentlyUncacheable;
  const lookup = skipLookup ? ({ kind: "miss", fwd: "miss", primaryKey: key } satisfies Found) : findEntry(store, key, request, ctx.exec, lookupAt);
  const found: Found = lookup instanceof Promise ? await lookup : lookup;
  const honorRequest = route.cache.request_cache_control === "honor";
  let fwd: ForwardReason = skipLookup ? "bypass" : found.kind === "miss" ? found.fwd : "stale";

  if (found.kind === "hit") {
    const now = found.tier === "memory" ? lookupAt : deps.clock.now();
    const reuse = decideReuse(found.stored.meta, request.headers.get("cache-control"), honorRequest, now);
    if (reuse.kind === "forward") fwd = reuse.reason;
    if (reuse.kind === "fresh") {
      return deliverEntry(found.stored, request, { hit: true, ttl: ttlSeconds(found.stored.meta, now), detail: found.tier }, now);
    }
    if (reuse.kind === "stale-while-revalidate") {
      refreshInBackground(ctx, key, found);
      return deliverEntry(found.stored, request, { hit: true, ttl: ttlSeconds(found.stored.meta, now), detail: `${found.tier}:stale-while-revalidate` }, now);
    }
  } else if (honorRequest && has(parseDirectives(request.headers.get("cache-control")), "only-if-cached")) {
    // RFC 9111 §5.2.1.7: nothing stored that satisfies the request -> 504.
    throw new OutpostError(504, "not_cached", "The request asked for a cached response only (only-if-cached) and none is stored");
  }

  const fill = await fillFromOrigin(ctx, key, found, { collapse: !skipLookup && request.method === "GET" });
  const now = deps.clock.now();
  const stale = found.kind === "hit" && isUsableOnError(found.stored.meta, now) ? found.stored : undefined;

  if (fill.kind === "shared") {
    return deliverEntry(fill.stored, request, { fwd, collapsed: true, ttl: ttlSeconds(fill.stored.meta, now), detail: "collapsed" }, now);
  }
  if (fill.kind === "revalidated") {
    return deliverEntry(fill.stored, request, { fwd, fwdStatus: 304, stored: fill.written, ttl: ttlSeconds(fill.stored.meta, now) }, now);
  }
  if (fill.kind === "failed") {
    if (stale) return deliverEntry(stale, request, { fwd: "stale", ttl: ttlSeconds(stale.meta, now), detail: "stale-if-error" }, now);
    throw upstreamFailure(route, fill.forwarded.result.kind === "failed" ? fill.forwarded.result.attempts : []);
  }
  const { response } = fill;
  if (response.status >= 500 && stale) {
    await fill.body?.cancel();
    return deliverEntry(stale, request, { fwd: "stale", fwdStatus: response.status, ttl: ttlSeconds(stale.meta, now), detail: "stale-if-error" }, now);
  }
  const status: CacheStatus = { fwd, fwdStatus: response.status, stored: fill.decision.store, detail: fill.decision.store ? undefined : fill.bypass };
  if (fill.decision.store) {
    status.ttl = ttlSeconds(entryTimes(fill.decision, fill.receivedAt), now);
    if (recentlyUncacheable) deps.cacheState.forgetUncacheable(key);
  } else if (found.kind === "miss" && !authenticated && response.status < 500 && request.method === "GET") {
    // Only plain misses: a key with a stored entry must stay visible for stale-if-error.
    deps.cacheState.rememberUncacheable(key, now);
  }
  if (recentlyUncacheable && !fill.decision.store) status.detail = `recently-uncacheable:${fill.bypass}`;
  return deliverResponse(response, { route, candidate: fill.served.candidate, steeringReason: fill.served.steeringReason, attempts: fill.served.attempts }, status, fill.body);
}

type Fill =
  | { kind: "shared"; stored: StoredResponse }
  /** The origin answered 304 to our conditional request: the stored response, updated. */
  | { kind: "revalidated"; stored: StoredResponse; written: boolean }
  | { kind: "failed"; forwarded: Forwarded }
  | {
      kind: "response";
      response: Response;
      body: ReadableStream | null;
      decision: StorageDecision;
      bypass: string | undefined;
      receivedAt: number;
      served: { candidate: Extract<Forwarded["result"], { kind: "response" }>["candidate"]; steeringReason: string; attempts: Extract<Forwarded["result"], { kind: "response" }>["attempts"] };
    };

/**
 * Goes to the origin for `key`, or waits for the request of this isolate that already does.
 * A waiter whose variant differs, or whose fill turned out uncacheable, fetches for itself.
 */
async function fillFromOrigin(ctx: CacheRequest, key: string, found: Found, { collapse }: { collapse: boolean }): Promise<Fill> {
  const state = ctx.deps.cacheState;
  const inflight = collapse ? state.inflight.get(key) : undefined;
  if (inflight) {
    const shared = await inflight;
    if (shared.kind === "entry" && matchesVariant(shared, ctx.request.headers)) return { kind: "shared", stored: shared.stored };
  }
  if (!collapse || inflight) return fetchAndStore(ctx, originRequest(ctx.request, false), found, undefined);

  let share!: (fill: SharedFill) => void;
  const shared = new Promise<SharedFill>((resolve) => (share = resolve));
  state.inflight.set(key, shared);
  void shared.then(() => state.inflight.delete(key));
  try {
    return await fetchAndStore(ctx, originRequest(ctx.request, false), found, share);
  } catch (error) {
    share({ kind: "none" });
    throw error;
  }
}

function matchesVariant(shared: Extract<SharedFill, { kind: "entry" }>, headers: Headers): boolean {
  if (shared.varyValues === undefined) return true;
  const names = varyHeaderNames(new Headers(shared.stored.meta.headers).get("vary"));
  return variantValues(names, headers) === shared.varyValues;
}

/**
 * The request that goes to the origin for a fill: the client's, minus its preconditions (the cache
 * answers those itself). A background refresh is a GET of its own, detached from the client.
 */
function originRequest(request: Request, forBackground: boolean): Request {
  if (!forBackground && !request.headers.has("if-none-match") && !request.headers.has("if-modified-since")) return request;
  const headers = new Headers(request.headers);
  headers.delete("if-none-match");
  headers.delete("if-modified-since");
  return new Request(request.url, {
    method: forBackground ? "GET" : request.method,
    headers,
    cf: request.cf as RequestInitCfProperties | undefined,
    signal: forBackground ? null : request.signal,
  });
}

async function fetchAndStore(
  ctx: CacheRequest,
  request: Request,
  found: Found,
  share: ((fill: SharedFill) => void) | undefined,
  forBackground = false,
): Promise<Fill> {
  const { route, deps } = ctx;
  const revalidating = found.kind === "hit" && hasValidator(new Headers(found.stored.meta.headers)) ? found.stored : undefined;
  const forwarded = await forwardToOrigin(revalidating ? withValidators(request, revalidating) : request, route, ctx.env, deps);
  if (forwarded.result.kind === "failed") {
    share?.({ kind: "none" });
    return { kind: "failed", forwarded };
  }
  const { response, candidate, attempts } = forwarded.result;
  const receivedAt = deps.clock.now();
  let decision = decideStorage({ method: request.method, requestHeaders: request.headers, status: response.status, responseHeaders: response.headers, policy: route.cache, receivedAt });
  const declaredLength = Number(response.headers.get("content-length") ?? 0);
  let bypass: string | undefined = decision.store ? undefined : decision.reason;
  if (decision.store && declaredLength > route.cache.max_object_bytes) {
    decision = { store: false, reason: "not-fresh" };
    bypass = "too-large";
  }
  const served = { candidate, steeringReason: forwarded.steeringReason, attempts };
  if (response.status === 304 && revalidating) {
    const { stored, written } = await refreshAfterNotModified(ctx, request, found, revalidating, response, receivedAt);
    share?.({ kind: "entry", stored, varyValues: varyValuesFor(stored, request.headers) });
    return { kind: "revalidated", stored, written };
  }
  if (!decision.store) {
    share?.({ kind: "none" });
    return { kind: "response", response, body: response.body, decision, bypass, receivedAt, served };
  }

  const headers = deliveredHeaders(response.headers);
  if (route.cache.strip_set_cookie) headers.delete("set-cookie");
  const meta: ResponseEntryMeta = { v: 1, kind: "response", status: response.status, headers: [...headers], ...entryTimes(decision, receivedAt) };
  const [toClient, toStore] = response.body ? response.body.tee() : [null, null];
  const storing = readUpTo(toStore, route.cache.max_object_bytes)
    .then(async (body) => {
      if (!body) {
        share?.({ kind: "none" });
        logEvent("info", "cache_store_skipped", { route: route.name, reason: "too-large" });
        return;
      }
      const stored: StoredResponse = { meta, body };
      share?.({ kind: "entry", stored, varyValues: varyValuesFor(stored, request.headers) });
      await writeEntry(ctx, request.headers, found, stored, varyHeaderNames(headers.get("vary")));
    })
    .catch((error: unknown) => {
      share?.({ kind: "none" });
      logEvent("warn", "cache_store_failed", { route: route.name, error: describeError(error) });
    });
  ctx.exec.waitUntil(storing);
  if (forBackground) await storing;
  return { kind: "response", response, body: toClient, decision, bypass, receivedAt, served };
}

function varyValuesFor(stored: StoredResponse, headers: Headers): string | undefined {
  const names = varyHeaderNames(new Headers(stored.meta.headers).get("vary"));
  return names.length > 0 ? variantValues(names, headers) : undefined;
}

/** The fill request made conditional on the stored response's validators (RFC 9111 §4.3.1). */
function withValidators(request: Request, stored: StoredResponse): Request {
  const storedHeaders = new Headers(stored.meta.headers);
  const headers = new Headers(request.headers);
  const etag = storedHeaders.get("etag");
  const lastModified = storedHeaders.get("last-modified");
  if (etag) headers.set("if-none-match", etag);
  if (lastModified) headers.set("if-modified-since", lastModified);
  return new Request(request.url, { method: request.method, headers, cf: request.cf as RequestInitCfProperties | undefined, signal: request.signal });
}

/**
 * Header fields a 304 must not change in the stored response (RFC 9111 §3.2): those describing the
 * stored body and its validator.
 */
const KEPT_ON_UPDATE = new Set(["content-length", "content-encoding", "content-md5", "content-range", "etag", "transfer-encoding"]);

/**
 * RFC 9111 §4.3.4: a 304 updates the stored response's header fields and so its freshness. The
 * updated entry is written back in the background; if the update forbids storing, the stored body
 * still answers this request once.
 */
async function refreshAfterNotModified(
  ctx: CacheRequest,
  request: Request,
  found: Found,
  stored: StoredResponse,
  notModified: Response,
  receivedAt: number,
): Promise<{ stored: StoredResponse; written: boolean }> {
  await notModified.body?.cancel();
  const headers = new Headers(stored.meta.headers);
  for (const [name, value] of deliveredHeaders(notModified.headers)) {
    if (!KEPT_ON_UPDATE.has(name) && name !== "via") headers.set(name, value);
  }
  const decision = decideStorage({ method: "GET", requestHeaders: request.headers, status: stored.meta.status, responseHeaders: headers, policy: ctx.route.cache, receivedAt });
  if (!decision.store) return { written: false, stored: { meta: { ...stored.meta, headers: [...headers] }, body: stored.body } };
  const updated: StoredResponse = { meta: { ...stored.meta, headers: [...headers], ...entryTimes(decision, receivedAt) }, body: stored.body };
  ctx.exec.waitUntil(
    writeEntry(ctx, request.headers, found, updated, varyHeaderNames(headers.get("vary"))).catch((error: unknown) =>
      logEvent("warn", "cache_store_failed", { route: ctx.route.name, error: describeError(error) }),
    ),
  );
  return { written: true, stored: updated };
}

/** The whole stream as one buffer, or undefined (and the stream cancelled) past `limit` bytes. */
async function readUpTo(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<ArrayBuffer | undefined> {
  if (!stream) return new ArrayBuffer(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    total += chunk.value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(chunk.value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body.buffer;
}

async function writeEntry(ctx: CacheRequest, requestHeaders: Headers, found: Found, stored: StoredResponse, varyNames: string[]): Promise<void> {
  const store = ctx.deps.cacheState.openStore(ctx.env.OUTPOST_CACHE, ctx.config.cacheTiers);
  const now = ctx.deps.clock.now();
  const { primaryKey } = found;
  if (varyNames.length === 0) {
    await store.put(primaryKey, stored.meta, stored.body, now);
    return;
  }
  const retainUntil = stored.meta.keepUntilAt;
  const sameHeaders = found.marker && found.marker.headers.join() === varyNames.join();
  const marker: VaryMarkerMeta = {
    v: 1,
    kind: "vary",
    headers: varyNames,
    generation: sameHeaders ? found.marker!.generation : crypto.randomUUID(),
    expiresAt: Math.max(retainUntil, sameHeaders ? found.marker!.expiresAt : 0),
  };
  if (!sameHeaders || marker.expiresAt > found.marker!.expiresAt) await store.put(primaryKey, marker, undefined, now);
  await store.put(await variantKey(primaryKey, marker, requestHeaders), stored.meta, stored.body, now);
}

/** stale-while-revalidate: one background refresh per key per isolate. */
function refreshInBackground(ctx: CacheRequest, key: string, found: Extract<Found, { kind: "hit" }>): void {
  const { refreshing } = ctx.deps.cacheState;
  if (refreshing.has(key)) return;
  refreshing.add(key);
  const refresh = fetchAndStore(ctx, originRequest(ctx.request, true), found, undefined, true)
    .then(async (fill) => {
      if (fill.kind === "response" && !fill.decision.store) await fill.body?.cancel();
    })
    .catch((error: unknown) => logEvent("warn", "cache_refresh_failed", { route: ctx.route.name, error: describeError(error) }))
    .finally(() => refreshing.delete(key));
  ctx.exec.waitUntil(refresh);
}

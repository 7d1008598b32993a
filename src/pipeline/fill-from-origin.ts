// Stage: fill a cache miss (or a stale entry) from the origin. One request per key per isolate goes
// out; concurrent requests wait for it (collapsing), at most until the route's deadline. The request
// that goes out is the cacheable one (no client Range, no client directives the route ignores), and
// it is detached from the leading client: that client leaving does not cancel what others wait for.
// A stale entry with a validator is revalidated conditionally and a 304 that selects it refreshes it
// (RFC 9111 §4.3); a storable answer streams to the client while a copy is read and stored in waitUntil.
// A Set-Cookie reaches only the client whose request produced it: never stored, never shared.
import type { InflightFill, SharedFill } from "../cache/cache-state.ts";
import { queryForFill } from "../cache/cache-key.ts";
import { parseCacheTags } from "../cache/cache-tags.ts";
import { discardBody, encodeRecordHead, readRecord, storedHeader, wholeResponse, type FoundResponse, type ResponseEntryMeta, type StoredResponse, type VaryMarkerMeta } from "../cache/entry.ts";
import { exceptKv } from "../cache/admission.ts";
import { canBroadcast, FillBroadcast } from "../cache/fill-broadcast.ts";
import { decideReuse, decideStorage, entryTimes, type EntryTimes } from "../cache/freshness.ts";
import { selectsStoredResponse, updatesStoredField } from "../cache/not-modified.ts";
import { variantKey, variantValues, varyHeaderNames } from "../cache/variants.ts";
import { OutpostError } from "../lib/errors.ts";
import { headersOf } from "../lib/headers.ts";
import { describeError, logEvent } from "../lib/log.ts";
import type { AttemptRecord } from "../origin/fetch-with-failover.ts";
import { deliveredHeaders, type Served } from "./deliver.ts";
import { forwardToOrigin, upstreamFailure, type Forwarded } from "./forward.ts";
import type { CacheRequest, Found } from "./types.ts";

export type Fill =
  | { kind: "shared"; stored: FoundResponse }
  /** The origin answered 304 to our conditional request: the stored response, updated; `setCookies` are this client's alone. */
  | { kind: "revalidated"; stored: StoredResponse; written: boolean; setCookies: string[] }
  /** No answer; `error` is the collapsed fill's failure a waiter answers with (the leader's own is built from `attempts`). */
  | { kind: "failed"; attempts: AttemptRecord[]; error?: OutpostError; status?: number }
  | {
      kind: "response";
      response: Response;
      /** The origin's headers as delivered (deliveredHeaders), computed once for storing and delivering. */
      headers: Headers;
      body: ReadableStream | null;
      /** The stored copy's times, or undefined when the response is not stored (then `bypass` says why). */
      times: EntryTimes | undefined;
      bypass: string | undefined;
      served: Omit<Served, "route">;
    };

/**
 * Goes to the origin for `key`, or waits for the request of this isolate that already does.
 * A waiter receives the stored copy, or the fill's failure; one whose variant differs, or whose
 * fill turned out not storable, fetches for itself.
 */
export async function fillFromOrigin(ctx: CacheRequest, key: string, found: Found, { collapse }: { collapse: boolean }): Promise<Fill> {
  const state = ctx.deps.cacheState;
  const inflight = collapse ? state.inflight.get(key) : undefined;
  if (inflight) {
    const shared = await waitForFill(inflight, ctx);
    if (shared.kind === "entry" && matchesVariant(shared.stored, shared.varyValues, ctx.request.headers)) return { kind: "shared", stored: shared.stored };
    if (shared.kind === "streaming") {
      const stored = { meta: shared.meta, body: shared.body() };
      if (matchesVariant(stored, shared.varyValues, ctx.request.headers)) return { kind: "shared", stored };
      discardBody(stored.body);
    }
    if (shared.kind === "failed") return { kind: "failed", attempts: [], error: shared.error, status: shared.status };
  }
  if (!collapse || inflight) return fetchAndStore(ctx, originRequest(ctx, false), found, undefined);
  const filled = filledMeanwhile(ctx, key, found);
  if (filled) return { kind: "shared", stored: filled };

  const { route, deps, request } = ctx;
  const led = state.startFill(key, deps.clock, route.deadline_ms, () => fillDeadlineError(route.name, route.deadline_ms));
  // The fill is the waiters' as much as the leader's: its client leaving cancels it only while nobody
  // waits and no answer has come (then no other origin is tried on behalf of nobody). Once waiting
  // starts, or the answer is streaming into the cache, it runs on, bounded by the deadline.
  const leaving = new AbortController();
  const onLeave = () => {
    if (led.fill.waiters > 0) return;
    led.share({ kind: "none" });
    leaving.abort(request.signal.reason);
  };
  request.signal.addEventListener("abort", onLeave, { once: true });
  const filling = fetchAndStore(ctx, originRequest(ctx, false, leaving.signal), found, led.share, false, led.fill.expired).finally(() =>
    request.signal.removeEventListener("abort", onLeave),
  );
  // Waiters depend on this fill, not only this client: keep it running if the client goes away.
  ctx.exec.waitUntil(filling.then(() => undefined, () => undefined));
  try {
    return await filling;
  } catch (error) {
    led.share({ kind: "failed", error: new OutpostError(502, "origin_unreachable", `The fill for route "${route.name}" failed`) });
    throw error;
  }
}

/**
 * The copy a fill of `key` stored while this request was looking it up (the lookup awaits the storage
 * tiers, a fill can complete meanwhile): collapsing covers fills in flight, and this covers the one
 * that just ended, instead of a second origin request for what is in the hot tier now. Only a plain
 * (not Vary) entry newer than what the lookup found, after every purge and invalidation this isolate
 * knows, and fresh for this request.
 */
function filledMeanwhile({ deps, env, config, route, request }: CacheRequest, key: string, found: Found): StoredResponse | undefined {
  const now = deps.clock.now();
  const hot = deps.cacheState.openStore(env.OUTPOST_CACHE, config.cacheTiers).getHot(key, now);
  if (hot?.record.meta.kind !== "response") return undefined;
  const stored = hot.record as StoredResponse;
  const { storedAt } = stored.meta;
  if (found.kind === "hit" && storedAt <= found.stored.meta.storedAt) return undefined;
  if (storedAt < deps.purges.ledger.newestAt || storedAt <= deps.cacheState.invalidations.newestAt) return undefined;
  const honorRequest = route.cache.request_cache_control === "honor";
  return decideReuse(stored.meta, honorRequest ? request.headers.get("cache-control") : null, honorRequest, now).kind === "fresh" ? stored : undefined;
}

/**
 * A waiter's bound: the fill's own deadline settles it, and each waiter keeps a timer of its own to
 * the same instant, in its own request's context (the leader's may end first).
 */
async function waitForFill(inflight: InflightFill, { deps, route }: CacheRequest): Promise<SharedFill> {
  inflight.waiters += 1;
  const timer = deps.clock.timeout(inflight.deadlineAt - deps.clock.now(), "collapsed fill passed its deadline");
  const expired = new Promise<SharedFill>((resolve) =>
    timer.signal.addEventListener("abort", () => resolve({ kind: "failed", error: fillDeadlineError(route.name, route.deadline_ms) }), { once: true }),
  );
  try {
    return await Promise.race([inflight.shared, expired]);
  } finally {
    timer.cancel();
    inflight.waiters -= 1;
  }
}

function fillDeadlineError(routeName: string, deadlineMs: number): OutpostError {
  return new OutpostError(504, "origin_timeout", `The origin's answer for route "${routeName}" did not complete within its deadline (${deadlineMs} ms)`, { route: routeName });
}

function matchesVariant(stored: FoundResponse, varyValues: string | undefined, headers: Headers): boolean {
  return varyValues === undefined || varyValuesFor(stored, headers) === varyValues;
}

/**
 * Request fields a shared cache must not forward on a fill: the client's own preconditions (the cache
 * answers those itself), and unkeyed fields some origins obey to change what they serve (another
 * path, another method). Forwarding those would let one visitor poison the entry everyone else gets.
 */
const NOT_FORWARDED_ON_FILL = ["if-none-match", "if-modified-since", "x-original-url", "x-rewrite-url", "x-http-method-override", "x-http-method", "x-method-override"];
/** Request directives (RFC 9111 §5.2.1), not forwarded when the route ignores them: one client's no-store must not make a fill unstorable. */
const REQUEST_DIRECTIVES = ["cache-control", "pragma"];
/** A collapsed fill fetches the whole object; each client's range is cut from it (deliver.ts). */
const RANGE_FIELDS = ["range", "if-range"];

/**
 * The request that goes to the origin for a fill: the client's, minus the fields above and the
 * query parameters the key leaves out. A background refresh is a GET of its own, detached from the
 * client; a collapsed fill carries `fillSignal` instead of the client's, and leaves out its Range.
 */
export function originRequest({ request, url, route }: Pick<CacheRequest, "request" | "url" | "route">, forBackground: boolean, fillSignal?: AbortSignal): Request {
  const shared = fillSignal !== undefined;
  const query = queryForFill(url.search, route.cache.query);
  const requestHeaders = request.headers;
  const dropped = [...NOT_FORWARDED_ON_FILL, ...(route.cache.request_cache_control === "honor" ? [] : REQUEST_DIRECTIVES), ...(shared ? RANGE_FIELDS : [])];
  if (!forBackground && !shared && query === undefined && !dropped.some((name) => requestHeaders.has(name))) return request;
  const headers = new Headers(requestHeaders);
  for (const name of dropped) headers.delete(name);
  let target = request.url;
  if (query !== undefined) {
    const keyed = new URL(url);
    keyed.search = query;
    target = keyed.href;
  }
  return new Request(target, {
    method: forBackground ? "GET" : request.method,
    headers,
    cf: request.cf as RequestInitCfProperties | undefined,
    signal: forBackground ? null : (fillSignal ?? request.signal),
  });
}

export async function fetchAndStore(
  ctx: CacheRequest,
  request: Request,
  found: Found,
  share: ((fill: SharedFill) => void) | undefined,
  forBackground = false,
  /** A collapsed fill's deadline (cache-state.ts): the copy being read for storing is abandoned then. */
  expired?: AbortSignal,
): Promise<Fill> {
  const { route, deps } = ctx;
  // The origin shield can neither share nor store what this isolate knows to be unstorable lately,
  // nor an authenticated request's answer: those go straight to the origin (no bypass: nothing failed).
  const viaShield = !request.headers.has("authorization") && !deps.cacheState.isRecentlyUncacheable(found.primaryKey, deps.clock.now());
  let revalidating = found.kind === "hit" && (storedHeader(found.stored, "etag") ?? storedHeader(found.stored, "last-modified")) !== null ? found.stored : undefined;
  const forward = (upstream: Request): Promise<Forwarded> => 
    forwardToOrigin(upstream, route, ctx.env, deps, forBackground ? undefined : ctx.trace, {
      env: ctx.env,
      coordination: ctx.config.coordination,
      cacheVersion: ctx.config.cacheVersion,
      exec: ctx.exec,
      colo: ctx.request.cf?.colo,
    }, viaShield);
  let requestedAt = deps.clock.now(); // request_time of RFC 9111 §4.2.3
  let forwarded = await forward(revalidating ? withValidators(request, revalidating) : request);
  if (revalidating && forwarded.result.kind === "response" && forwarded.result.response.status === 304) {
    const stored = revalidating;
    if (!selectsStoredResponse(forwarded.result.response.headers, (name) => storedHeader(stored, name))) {
      // RFC 9111 §4.3.4: a 304 whose validator is not the stored response's "MUST NOT" update it, so
      // it vouches for nothing this cache holds; and the client's request was not conditional (its
      // validators are not forwarded), so a 304 is no answer to it either (RFC 9110 §15.4.5: a 304
      // answers a conditional request). The one way to a full response is to ask again without
      // validators (RFC 9111 §4.3.3: a full response "MUST" then satisfy the request).
      await forwarded.result.response.body?.cancel();
      logEvent("info", "cache_304_unmatched", { route: route.name, etag: forwarded.result.response.headers.get("etag") });
      revalidating = undefined;
      requestedAt = deps.clock.now();
      forwarded = await forward(request);
    }
  }
  if (forwarded.result.kind === "failed") {
    share?.({ kind: "failed", error: upstreamFailure(route, forwarded.result.attempts) });
    return { kind: "failed", attempts: forwarded.result.attempts };
  }
  const { response, candidate, attempts } = forwarded.result;
  const receivedAt = deps.clock.now();
  // Purge tags: the origin's fields, or the ones the origin shield sent (it never passes the fields).
  const tags = forwarded.shield?.answered ? forwarded.shield.tags : parseCacheTags(response.headers);
  if (ctx.env.OUTPOST_SHIELD_ROLE && !forBackground) ctx.trace.cacheTags = tags;
  // The origin shield wrote KV itself (and judged its admission with every location's requests).
  const shieldWroteKv = forwarded.shield?.answered === true;
  if (response.status === 304 && revalidating) {
    const { stored, written, setCookies } = await refreshAfterNotModified(ctx, request, found, revalidating, response, receivedAt, shieldWroteKv);
    // Waiters get the refreshed entry only when it may be stored: a 304 can make it private.
    share?.(written ? { kind: "entry", stored, varyValues: varyValuesFor(stored, request.headers) } : { kind: "none" });
    return { kind: "revalidated", stored, written, setCookies };
  }
  const served = { candidate, steeringReason: forwarded.steeringReason, attempts, shield: forwarded.shield };
  const headers = deliveredHeaders(response.headers);
  const decision = decideStorage({ method: request.method, requestHeaders: request.headers, status: response.status, responseHeaders: response.headers, policy: route.cache, receivedAt, requestedAt, replacesEntry: found.kind === "hit" });
  const maxBytes = Math.min(route.cache.max_object_bytes, ctx.deps.cacheState.openStore(ctx.env.OUTPOST_CACHE, ctx.config.cacheTiers).maxBodyBytes);
  const tooLarge = decision.store && Number(response.headers.get("content-length") ?? 0) > maxBytes;
  if (!decision.store || tooLarge) {
    // An error answer is the fill's failure: waiters answer it once (their stale copy, or a 502),
    // instead of each asking the failing origin again.
    share?.(response.status >= 500 ? { kind: "failed", error: originErrorStatus(route.name, response.status), status: response.status } : { kind: "none" });
    return { kind: "response", response, headers, body: response.body, times: undefined, bypass: tooLarge ? "too-large" : decision.store ? undefined : decision.reason, served };
  }

  const times = entryTimes(decision, receivedAt);
  // The client that caused the fetch still gets Set-Cookie; the stored copy never does (it is stored
  // at all only under strip_set_cookie: freshness.ts). Nor Content-Length: a hit's is the kept body's
  // own length (the runtime's, or deliverEntry's for HEAD), which the origin's could contradict (the
  // runtime decodes compressed bodies).
  const storedHeaders = [...headers].filter(([name]) => name !== "content-length" && name !== "set-cookie");
  const meta: ResponseEntryMeta = { v: 1, kind: "response", status: response.status, headers: storedHeaders, ...times };
  if (tags) meta.tags = tags;
  const declaredLength = response.headers.has("content-length") ? Number(response.headers.get("content-length")) : undefined;
  // The isolate's fill budget (cache/fill-budget.ts): past it, the answer streams through uncached.
  const head = encodeRecordHead(meta);
  const reservation = ctx.deps.cacheState.fills.reserve(head.length + (response.body ? declaredBytes(declaredLength, maxBytes) : 0));
  if (!reservation) {
    share?.({ kind: "none" });
    return { kind: "response", response, headers, body: response.body, times: undefined, bypass: "fill-budget", served };
  }
  const [toClient, teed] = response.body ? response.body.tee() : [null, null];
  // At an origin shield, waiting locations stream the body as it arrives (fill-broadcast.ts).
  const broadcast = share && teed && ctx.env.OUTPOST_SHIELD_ROLE && canBroadcast(response.headers, declaredLength, maxBytes) ? new FillBroadcast(head, declaredLength) : undefined;
  if (broadcast) share?.({ kind: "streaming", meta, body: () => broadcast.body(), varyValues: varyValuesFor({ meta }, request.headers) });
  // Past a collapsed fill's deadline its copy is abandoned (the client's branch streams on). The
  // signal goes to the reader, not through a pipe: piping one in-isolate stream into another
  // (a Response built by the Worker) is not implemented by workerd and would leave the fill hanging.
  const storing = (broadcast ? broadcast.read(teed!, expired) : readRecord(teed, maxBytes, head, declaredLength, reservation, expired))
    .then(async (record) => {
      if (!record) {
        share?.({ kind: "none" });
        logEvent("info", "cache_store_skipped", { route: route.name, reason: "too-large, incomplete or beyond the fill budget" });
        return;
      }
      const stored: StoredResponse = { meta, body: record.body, encoded: record.encoded };
      share?.({ kind: "entry", stored, varyValues: varyValuesFor(stored, request.headers) });
      await writeEntry(ctx, request.headers, found, stored, varyHeaderNames(headers.get("vary")), shieldWroteKv);
    })
    .catch((error: unknown) => {
      // The body broke off (or the deadline passed: then the waiters already have their answer).
      share?.({ kind: "failed", error: new OutpostError(502, "origin_unreachable", `The origin's answer for route "${route.name}" broke off before its end`, { route: route.name }) });
      logEvent("warn", "cache_store_failed", { route: route.name, error: describeError(error) });
    })
    .finally(() => reservation.release());
  ctx.exec.waitUntil(storing);
  if (forBackground) await storing;
  return { kind: "response", response, headers, body: toClient, times, bypass: undefined, served };
}

function originErrorStatus(routeName: string, status: number): OutpostError {
  return new OutpostError(502, "origin_unreachable", `The origin answered ${status} to the request this one was collapsed into`, { route: routeName, status });
}

/** The body size a fill reserves when the answer arrives: the declared one (readRecord grows it as needed). */
function declaredBytes(declaredLength: number | undefined, maxBytes: number): number {
  return declaredLength !== undefined && Number.isSafeInteger(declaredLength) && declaredLength >= 0 ? Math.min(declaredLength, maxBytes) : 0;
}

function varyValuesFor(stored: Pick<FoundResponse, "meta">, headers: Headers): string | undefined {
  const names = varyHeaderNames(storedHeader(stored, "vary"));
  return names.length > 0 ? variantValues(names, headers) : undefined;
}

/** The fill request made conditional on the stored response's validators (RFC 9111 §4.3.1). */
function withValidators(request: Request, stored: FoundResponse): Request {
  const headers = new Headers(request.headers);
  const etag = storedHeader(stored, "etag");
  const lastModified = storedHeader(stored, "last-modified");
  if (etag) headers.set("if-none-match", etag);
  if (lastModified) headers.set("if-modified-since", lastModified);
  return new Request(request.url, { method: request.method, headers, cf: request.cf as RequestInitCfProperties | undefined, signal: request.signal });
}

/**
 * RFC 9111 §4.3.4: a 304 that selects the stored response (not-modified.ts) updates its header
 * fields and so its freshness, except the fields that describe the stored body and Set-Cookie
 * (RFC 9111 §3.2, not-modified.ts). The updated entry is written back in the background; if the
 * update forbids storing (judged with the 304's Set-Cookie, as a 200's would be), the stored body
 * still answers this request once. A streaming (large) entry is read whole: it is stored again.
 */
async function refreshAfterNotModified(
  ctx: CacheRequest,
  request: Request,
  found: Found,
  foundStored: FoundResponse,
  notModified: Response,
  receivedAt: number,
  shieldWroteKv: boolean,
): Promise<{ stored: StoredResponse; written: boolean; setCookies: string[] }> {
  await notModified.body?.cancel();
  const stored = await wholeResponse(foundStored);
  const headers = headersOf(stored.meta.headers);
  const received = deliveredHeaders(notModified.headers);
  for (const [name, value] of received) {
    if (updatesStoredField(name)) headers.set(name, value);
  }
  const setCookies = received.getSetCookie();
  const judged = new Headers(headers);
  for (const cookie of setCookies) judged.append("set-cookie", cookie);
  const decision = decideStorage({ method: "GET", requestHeaders: request.headers, status: stored.meta.status, responseHeaders: judged, policy: ctx.route.cache, receivedAt });
  if (!decision.store) return { written: false, setCookies, stored: { meta: { ...stored.meta, headers: [...headers] }, body: stored.body } };
  const updated: StoredResponse = { meta: { ...stored.meta, headers: [...headers], ...entryTimes(decision, receivedAt) }, body: stored.body };
  ctx.exec.waitUntil(
    writeEntry(ctx, request.headers, found, updated, varyHeaderNames(headers.get("vary")), shieldWroteKv).catch((error: unknown) =>
      logEvent("warn", "cache_store_failed", { route: ctx.route.name, error: describeError(error) }),
    ),
  );
  return { written: true, setCookies, stored: updated };
}

async function writeEntry(ctx: CacheRequest, requestHeaders: Headers, found: Found, stored: StoredResponse, varyNames: string[], shieldWroteKv: boolean): Promise<void> {
  const store = ctx.deps.cacheState.openStore(ctx.env.OUTPOST_CACHE, ctx.config.cacheTiers);
  const now = ctx.deps.clock.now();
  const { primaryKey } = found;
  // Which storage tiers take it (cache/admission.ts): a copy found in a storage tier was admitted before.
  const admitted = ctx.deps.cacheState.admission.admit(ctx.route, primaryKey, found.kind === "hit" && found.tier !== "memory", now);
  const admit = shieldWroteKv ? exceptKv(admitted, "shield") : admitted;
  if (varyNames.length === 0) {
    await store.put(primaryKey, stored.meta, stored.body, now, stored.encoded, admit);
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
  if (!sameHeaders || marker.expiresAt > found.marker!.expiresAt) await store.put(primaryKey, marker, undefined, now, undefined, admit);
  await store.put(await variantKey(primaryKey, marker, requestHeaders), stored.meta, stored.body, now, stored.encoded, admit);
}

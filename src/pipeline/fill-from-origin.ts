// Stage: fill a cache miss (or a stale entry) from the origin. One request per key per isolate goes
// out; concurrent requests wait for it (collapsing). A stale entry with a validator is revalidated
// conditionally and a 304 refreshes it (RFC 9111 §4.3); a storable answer streams to the client while
// a copy is read and stored in waitUntil.
import type { SharedFill } from "../cache/cache-state.ts";
import { queryForFill } from "../cache/cache-key.ts";
import { parseCacheTags } from "../cache/cache-tags.ts";
import { encodeRecordHead, readRecord, storedHeader, wholeResponse, type FoundResponse, type ResponseEntryMeta, type StoredResponse, type VaryMarkerMeta } from "../cache/entry.ts";
import { decideStorage, entryTimes, type EntryTimes } from "../cache/freshness.ts";
import { variantKey, variantValues, varyHeaderNames } from "../cache/variants.ts";
import { headersOf } from "../lib/headers.ts";
import { describeError, logEvent } from "../lib/log.ts";
import type { AttemptRecord } from "../origin/fetch-with-failover.ts";
import { deliveredHeaders, type Served } from "./deliver.ts";
import { forwardToOrigin } from "./forward.ts";
import type { CacheRequest, Found } from "./types.ts";

export type Fill =
  | { kind: "shared"; stored: StoredResponse }
  /** The origin answered 304 to our conditional request: the stored response, updated. */
  | { kind: "revalidated"; stored: StoredResponse; written: boolean }
  | { kind: "failed"; attempts: AttemptRecord[] }
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
 * A waiter whose variant differs, or whose fill turned out uncacheable, fetches for itself.
 */
export async function fillFromOrigin(ctx: CacheRequest, key: string, found: Found, { collapse }: { collapse: boolean }): Promise<Fill> {
  const state = ctx.deps.cacheState;
  const inflight = collapse ? state.inflight.get(key) : undefined;
  if (inflight) {
    const shared = await inflight;
    if (shared.kind === "entry" && matchesVariant(shared, ctx.request.headers)) return { kind: "shared", stored: shared.stored };
  }
  if (!collapse || inflight) return fetchAndStore(ctx, originRequest(ctx, false), found, undefined);

  let share!: (fill: SharedFill) => void;
  const shared = new Promise<SharedFill>((resolve) => (share = resolve));
  state.inflight.set(key, shared);
  void shared.then(() => state.inflight.delete(key));
  try {
    return await fetchAndStore(ctx, originRequest(ctx, false), found, share);
  } catch (error) {
    share({ kind: "none" });
    throw error;
  }
}

function matchesVariant(shared: Extract<SharedFill, { kind: "entry" }>, headers: Headers): boolean {
  return shared.varyValues === undefined || varyValuesFor(shared.stored, headers) === shared.varyValues;
}

/**
 * Request fields a shared cache must not forward on a fill: the client's own preconditions (the cache
 * answers those itself), and unkeyed fields some origins obey to change what they serve (another
 * path, another method). Forwarding those would let one visitor poison the entry everyone else gets.
 */
const NOT_FORWARDED_ON_FILL = ["if-none-match", "if-modified-since", "x-original-url", "x-rewrite-url", "x-http-method-override", "x-http-method", "x-method-override"];

/**
 * The request that goes to the origin for a fill: the client's, minus the fields above and the
 * query parameters the key leaves out. A background refresh is a GET of its own, detached from the client.
 */
export function originRequest({ request, url, route }: Pick<CacheRequest, "request" | "url" | "route">, forBackground: boolean): Request {
  const query = queryForFill(url.search, route.cache.query);
  if (!forBackground && query === undefined && !NOT_FORWARDED_ON_FILL.some((name) => request.headers.has(name))) return request;
  const headers = new Headers(request.headers);
  for (const name of NOT_FORWARDED_ON_FILL) headers.delete(name);
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
    signal: forBackground ? null : request.signal,
  });
}

export async function fetchAndStore(
  ctx: CacheRequest,
  request: Request,
  found: Found,
  share: ((fill: SharedFill) => void) | undefined,
  forBackground = false,
): Promise<Fill> {
  const { route, deps } = ctx;
  const revalidating = found.kind === "hit" && (storedHeader(found.stored, "etag") ?? storedHeader(found.stored, "last-modified")) !== null ? found.stored : undefined;
  const forwarded = await forwardToOrigin(revalidating ? withValidators(request, revalidating) : request, route, ctx.env, deps, forBackground ? undefined : ctx.trace);
  if (forwarded.result.kind === "failed") {
    share?.({ kind: "none" });
    return { kind: "failed", attempts: forwarded.result.attempts };
  }
  const { response, candidate, attempts } = forwarded.result;
  const receivedAt = deps.clock.now();
  if (response.status === 304 && revalidating) {
    const { stored, written } = await refreshAfterNotModified(ctx, request, found, revalidating, response, receivedAt);
    share?.({ kind: "entry", stored, varyValues: varyValuesFor(stored, request.headers) });
    return { kind: "revalidated", stored, written };
  }
  const served = { candidate, steeringReason: forwarded.steeringReason, attempts };
  const headers = deliveredHeaders(response.headers);
  const decision = decideStorage({ method: request.method, requestHeaders: request.headers, status: response.status, responseHeaders: response.headers, policy: route.cache, receivedAt });
  const maxBytes = Math.min(route.cache.max_object_bytes, ctx.deps.cacheState.openStore(ctx.env.OUTPOST_CACHE, ctx.config.cacheTiers).maxBodyBytes);
  const tooLarge = decision.store && Number(response.headers.get("content-length") ?? 0) > maxBytes;
  if (!decision.store || tooLarge) {
    share?.({ kind: "none" });
    return { kind: "response", response, headers, body: response.body, times: undefined, bypass: tooLarge ? "too-large" : decision.store ? undefined : decision.reason, served };
  }

  const times = entryTimes(decision, receivedAt);
  // The client that caused the fetch still gets Set-Cookie; the stored copy does not (strip_set_cookie).
  // Nor Content-Length: a hit's is the kept body's own length (the runtime's, or deliverEntry's for
  // HEAD), which the origin's could contradict (the runtime decodes compressed bodies).
  const storedHeaders = [...headers].filter(([name]) => name !== "content-length" && !(route.cache.strip_set_cookie && name === "set-cookie"));
  const meta: ResponseEntryMeta = { v: 1, kind: "response", status: response.status, headers: storedHeaders, ...times };
  const tags = parseCacheTags(response.headers);
  if (tags) meta.tags = tags;
  const declaredLength = response.headers.has("content-length") ? Number(response.headers.get("content-length")) : undefined;
  // The isolate's fill budget (cache/fill-budget.ts): past it, the answer streams through uncached.
  const head = encodeRecordHead(meta);
  const reservation = ctx.deps.cacheState.fills.reserve(head.length + (response.body ? declaredBytes(declaredLength, maxBytes) : 0));
  if (!reservation) {
    share?.({ kind: "none" });
    return { kind: "response", response, headers, body: response.body, times: undefined, bypass: "fill-budget", served };
  }
  const [toClient, toStore] = response.body ? response.body.tee() : [null, null];
  const storing = readRecord(toStore, maxBytes, head, declaredLength, reservation)
    .then(async (record) => {
      if (!record) {
        share?.({ kind: "none" });
        logEvent("info", "cache_store_skipped", { route: route.name, reason: "too-large, incomplete or beyond the fill budget" });
        return;
      }
      const stored: StoredResponse = { meta, body: record.body, encoded: record.encoded };
      share?.({ kind: "entry", stored, varyValues: varyValuesFor(stored, request.headers) });
      await writeEntry(ctx, request.headers, found, stored, varyHeaderNames(headers.get("vary")));
    })
    .catch((error: unknown) => {
      share?.({ kind: "none" });
      logEvent("warn", "cache_store_failed", { route: route.name, error: describeError(error) });
    })
    .finally(() => reservation.release());
  ctx.exec.waitUntil(storing);
  if (forBackground) await storing;
  return { kind: "response", response, headers, body: toClient, times, bypass: undefined, served };
}

/** The body size a fill reserves when the answer arrives: the declared one (readRecord grows it as needed). */
function declaredBytes(declaredLength: number | undefined, maxBytes: number): number {
  return declaredLength !== undefined && Number.isSafeInteger(declaredLength) && declaredLength >= 0 ? Math.min(declaredLength, maxBytes) : 0;
}

function varyValuesFor(stored: StoredResponse, headers: Headers): string | undefined {
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
 * Header fields a 304 must not change in the stored response (RFC 9111 §3.2): those describing the
 * stored body and its validator.
 */
const KEPT_ON_UPDATE = new Set(["content-length", "content-encoding", "content-md5", "content-range", "etag", "transfer-encoding"]);

/**
 * RFC 9111 §4.3.4: a 304 updates the stored response's header fields and so its freshness. The
 * updated entry is written back in the background; if the update forbids storing, the stored body
 * still answers this request once. A streaming (large) entry is read whole: it is stored again.
 */
async function refreshAfterNotModified(
  ctx: CacheRequest,
  request: Request,
  found: Found,
  foundStored: FoundResponse,
  notModified: Response,
  receivedAt: number,
): Promise<{ stored: StoredResponse; written: boolean }> {
  await notModified.body?.cancel();
  const stored = await wholeResponse(foundStored);
  const headers = headersOf(stored.meta.headers);
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

async function writeEntry(ctx: CacheRequest, requestHeaders: Headers, found: Found, stored: StoredResponse, varyNames: string[]): Promise<void> {
  const store = ctx.deps.cacheState.openStore(ctx.env.OUTPOST_CACHE, ctx.config.cacheTiers);
  const now = ctx.deps.clock.now();
  const { primaryKey } = found;
  // Which storage tiers take it (cache/admission.ts): a copy found in a storage tier was admitted before.
  const admit = ctx.deps.cacheState.admission.admit(ctx.route, primaryKey, found.kind === "hit" && found.tier !== "memory", now);
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

// GET /__outpost/explain?url=...&country=..&colo=..: a dry run of the request flow that contacts no
// origin. It calls the same stage functions as a real request (matchRoute, cacheBypassReason,
// selectPools, orderByHealth, buildCacheKey, decideReuse, the purge ledger) and reports what each
// decided, plus every tier's copy of the entry.
import * as z from "zod/mini";
import { buildCacheKey, describeCacheKey, normalizeQuery } from "../cache/cache-key.ts";
import { formatCacheStatus, type CacheStatus } from "../cache/cache-status.ts";
import type { FoundResponse, StoredRecord, StreamedResponse } from "../cache/entry.ts";
import { ageSeconds, decideReuse, isUsableOnError, staleFrom, ttlSeconds } from "../cache/freshness.ts";
import { invalidatedTimes } from "../cache/soft-invalidations.ts";
import { variantKey } from "../cache/variants.ts";
import { formatIssues, type CompiledConfig } from "../config/validate-config.ts";
import { OutpostError } from "../lib/errors.ts";
import { normalizeRequestUrl } from "../lib/hosts.ts";
import { fileIdentity } from "../purge/purge-ledger.ts";
import type { PipelineDeps, PipelineEnv } from "../pipeline/types.ts";
import { matchRoute } from "../pipeline/match-route.ts";
import { orderByHealth, selectPools, type VisitorCf } from "../steering/select-pools.ts";
import { cacheBypassReason, purgeVerdict } from "../pipeline/serve-with-cache.ts";
import { describeOrigin, iso } from "./status.ts";

const coordinate = z.pipe(z.string(), z.transform(Number)).check(z.refine(Number.isFinite, "must be a number"));

const explainQuerySchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" }),
  method: z._default(z.string().check(z.regex(/^[A-Z]{1,16}$/, "must be an upper-case method such as GET")), "GET"),
  country: z.optional(z.string().check(z.regex(/^[A-Za-z]{2}$/, "must be a two-letter country code"))),
  colo: z.optional(z.string().check(z.regex(/^[A-Za-z]{3}$/, "must be a three-letter location code"))),
  continent: z.optional(z.string().check(z.regex(/^[A-Za-z]{2}$/, "must be a two-letter continent code"))),
  region_code: z.optional(z.string().check(z.maxLength(8))),
  lat: z.optional(coordinate),
  long: z.optional(coordinate),
  /** Request headers as "Name: value" (repeat the parameter for several). */
  // A field value is visible characters, spaces and tabs (RFC 9110 §5.5): NUL, CR, LF and other controls are refused here, not by the runtime.
  header: z._default(z.array(z.string().check(z.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\uffff]*$/, 'must be "Name: value" (a value without control characters)'))), []),
  /** The visitor's IP, for origin_steering = "hash". */
  ip: z.optional(z.string()),
});

export type ExplainQuery = z.output<typeof explainQuerySchema>;

export function parseExplainQuery(query: Record<string, string[]>): ExplainQuery {
  const flat: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(query)) flat[name] = name === "header" ? values : values[values.length - 1];
  const parsed = explainQuerySchema.safeParse(flat);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error.issues);
    throw new OutpostError(400, "invalid_request", "The explain query is invalid", { problems });
  }
  return parsed.data;
}

/** The visitor's request as the worker would receive it; what the runtime refuses (CONNECT, TRACK, unknown methods) is a 400. */
function visitorRequest(query: ExplainQuery, url: URL): Request {
  try {
    const headers = new Headers(query.header.map((line) => [line.slice(0, line.indexOf(":")).trim(), line.slice(line.indexOf(":") + 1).trim()]));
    return new Request(url.href, { method: query.method, headers });
  } catch (error) {
    throw new OutpostError(400, "invalid_request", "The explain query is invalid", { problems: [`method or header: ${error instanceof Error ? error.message : String(error)}`] });
  }
}

export async function explainRequest(query: ExplainQuery, config: CompiledConfig, env: PipelineEnv, deps: PipelineDeps) {
  const url = normalizeRequestUrl(new URL(query.url));
  const request = visitorRequest(query, url);
  const cf: VisitorCf = { country: query.country?.toUpperCase(), colo: query.colo?.toUpperCase(), continent: query.continent?.toUpperCase(), regionCode: query.region_code, latitude: query.lat, longitude: query.long };
  const visitor = { method: query.method, url: url.href, cf: Object.fromEntries(Object.entries(cf).filter(([, value]) => value !== undefined)) };

  const route = matchRoute(config, url);
  if (!route) return { request: visitor, route: null, outcome: `404 no_route: no route is configured for ${url.host}${url.pathname}` };

  // Random steering is shown for a fixed draw of 0 (the first pool by weight order); a real request draws anew.
  const steering = selectPools(route, { cf, clientIp: query.ip ?? null, random: () => 0 });
  await deps.health.refresh(env.OUTPOST_CACHE);
  const ordered = orderByHealth(steering.candidates, deps.health);
  const now = deps.clock.now();
  const result = {
    request: visitor,
    route: { name: route.name, hosts: route.hosts, path: route.path },
    steering: {
      policy: route.steering_policy,
      reason: steering.reason,
      note: route.steering_policy === "random" ? "random steering draws per request; shown for the first draw" : undefined,
      candidates: ordered.map((candidate, index) => ({ order: index + 1, pool: candidate.pool.name, ...describeOrigin(candidate, deps.health, now) })),
    },
    cache: await explainCache(request, url, route, config, env, deps, cf, now),
  };
  return result;
}

type Route = NonNullable<ReturnType<typeof matchRoute>>;

async function explainCache(request: Request, url: URL, route: Route, config: CompiledConfig, env: PipelineEnv, deps: PipelineDeps, cf: VisitorCf, now: number) {
  const bypass = cacheBypassReason(request, route);
  if (bypass) return { enabled: route.cache.enabled, bypass, cache_status: formatCacheStatus(bypass) };
  const country = route.cache.key.country && typeof cf.country === "string" ? cf.country : undefined;
  const keyInput = { url, headers: request.headers, country, routeName: route.name, cacheVersion: config.cacheVersion, policy: route.cache };
  const key = await buildCacheKey(keyInput);
  const store = deps.cacheState.openStore(env.OUTPOST_CACHE, config.cacheTiers);
  // Without the coordination settings: explain reads the isolate's ledger (kept fresh from the purge
  // coordinator by the requests it serves) and never polls the coordinator itself, which would list
  // the operator's call as a location in receipts.
  await deps.purges.ensureFresh(env, config.cacheVersion, () => {});
  const primary = await store.inspect(key, now);
  const marker = primary.find((tier) => tier.record?.meta.kind === "vary")?.record?.meta;
  const variant = marker?.kind === "vary" ? await variantKey(key, marker, request.headers) : undefined;
  const tiers = variant ? await store.inspect(variant, now) : primary;
  const judge = (stored: FoundResponse) => judgeEntry(stored, request, url, route, deps, now);
  const nearest = tiers.find((tier) => tier.record?.meta.kind === "response");
  const predicted = predictStatus(nearest ? { tier: nearest.tier, ...judge(nearest.record as FoundResponse) } : undefined, deps.cacheState.isRecentlyUncacheable(key, now), now);
  return {
    enabled: true,
    bypass: null,
    key: describeCacheKey(keyInput),
    stored_under: variant ?? key,
    vary: marker?.kind === "vary" ? { headers: marker.headers, variant: variant } : undefined,
    tiers: tiers.map(({ tier, record, error }) => ({ tier, ...describeRecord(record, judge, now), error })),
    cache_status: formatCacheStatus(predicted),
  };
}

function judgeEntry(stored: FoundResponse, request: Request, url: URL, route: Route, deps: PipelineDeps, now: number) {
  const purge = purgeVerdict(deps.purges.ledger, url, route, stored.meta);
  const invalidatedAt = deps.cacheState.invalidations.invalidatedAt(stored.meta.storedAt, () => fileIdentity(url.hostname, url.pathname, normalizeQuery(url.search, route.cache.query)));
  const valid = invalidatedAt === undefined ? stored.meta : invalidatedTimes(stored.meta, invalidatedAt);
  const times = purge.kind === "soft" ? staleFrom(valid, purge.at) : valid;
  const reuse = decideReuse(times, request.headers.get("cache-control"), route.cache.request_cache_control === "honor", now);
  return { purge, invalidatedAt, times, reuse: purge.kind === "hard" ? ({ kind: "forward", reason: "stale" } as const) : reuse };
}

function describeRecord(record: StoredRecord | StreamedResponse | undefined, judge: (stored: FoundResponse) => ReturnType<typeof judgeEntry>, now: number) {
  if (!record) return { state: "absent" };
  if (record.meta.kind === "vary") return { state: "vary-marker", headers: record.meta.headers };
  const { purge, invalidatedAt, times, reuse } = judge(record as FoundResponse);
  return {
    state: purge.kind === "hard" ? "purged" : reuse.kind === "fresh" ? "fresh" : reuse.kind === "stale-while-revalidate" ? "stale-while-revalidate" : "stale",
    status: record.meta.status,
    age_seconds: ageSeconds(times, now),
    ttl_seconds: ttlSeconds(times, now),
    stored_at: iso(times.storedAt),
    fresh_until: iso(times.freshUntilAt),
    stale_while_revalidate_until: iso(times.staleWhileRevalidateUntilAt),
    stale_if_error_until: iso(times.staleIfErrorUntilAt),
    usable_if_origin_fails: purge.kind !== "hard" && isUsableOnError(times, now),
    tags: record.meta.tags,
    purge: purge.kind === "none" ? undefined : { kind: purge.kind, at: iso(purge.at) },
    /** Marked stale in this isolate by an unsafe request (RFC 9111 §4.4). */
    invalidated_at: invalidatedAt === undefined ? undefined : iso(invalidatedAt),
    bytes: record.body.byteLength,
  };
}

function predictStatus(nearest: (ReturnType<typeof judgeEntry> & { tier: string }) | undefined, recentlyUncacheable: boolean, now: number): CacheStatus {
  if (recentlyUncacheable) return { fwd: "bypass", detail: "recently-uncacheable" };
  if (!nearest) return { fwd: "miss" };
  if (nearest.purge.kind === "hard") return { fwd: "miss", detail: "purged" };
  const ttl = ttlSeconds(nearest.times, now);
  if (nearest.reuse.kind === "fresh") return { hit: true, ttl, detail: nearest.tier };
  if (nearest.reuse.kind === "stale-while-revalidate") return { hit: true, ttl, detail: `${nearest.tier}:stale-while-revalidate` };
  return { fwd: nearest.reuse.reason };
}

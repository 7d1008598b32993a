// Helpers for your own vitest suites around Outpost (docs/route-tests.md):
//
//   import { expect } from "vitest";
//   import { outpostMatchers, visitorRequest } from "../src/testing/index.ts";
//   expect.extend(outpostMatchers);
//   const response = await worker.fetch(visitorRequest("https://www.example.com/", { country: "JP" }));
//   expect(response).toBeServedBy("apac", "nrt-1");
//   expect(response).toHaveCacheStatus("hit");
//
// The matchers read the headers Outpost adds to every proxied response (Cache-Status, RFC 9211, and
// Outpost-Upstream), so they work against the worker in workerd, `wrangler dev` or production alike.
// Not part of the worker's bundle: nothing under src/ imports this folder.
import { decideRoute, type RouteDecision } from "../config/route-tests.ts";
import type { OutpostConfigInput, RouteTest } from "../config/schema.ts";
import { validateConfig } from "../config/validate-config.ts";

export interface Visitor {
  /** request.cf fields steering reads. */
  country?: string;
  continent?: string;
  colo?: string;
  regionCode?: string;
  latitude?: string | number;
  longitude?: string | number;
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
}

/** A request as a visitor from `visitor.country` (etc.) sends it: workerd reads `cf` as request.cf. */
export function visitorRequest(url: string, visitor: Visitor = {}): Request {
  const { method, headers, body, regionCode, latitude, longitude, ...place } = visitor;
  const cf = Object.fromEntries(
    Object.entries({ ...place, regionCode, latitude: latitude === undefined ? undefined : String(latitude), longitude: longitude === undefined ? undefined : String(longitude) }).filter(([, value]) => value !== undefined),
  );
  return new Request(url, { method, headers, body, cf } as RequestInit);
}

/** Cache-Status parsed: `Outpost; fwd=miss; fwd-status=200; stored` -> { hit: false, fwd: "miss", fwd-status: "200", stored: true }. */
export function parseCacheStatus(value: string | null): Record<string, string | boolean> | undefined {
  if (!value) return undefined;
  const parsed: Record<string, string | boolean> = { hit: false };
  // RFC 8941 parameters: `; name` or `; name=token` or `; name="string"` (quoted strings may hold ";").
  for (const [, name, raw] of value.matchAll(/;\s*([a-z*][a-z0-9_.*-]*)(?:=("(?:[^"\\]|\\.)*"|[^;]*))?/g)) {
    parsed[name!] = raw === undefined ? true : raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw.trim();
  }
  return parsed;
}

/** Outpost-Upstream parsed: { route, pool, origin, steering, reason, attempts }. */
export function parseUpstream(value: string | null): Record<string, string> | undefined {
  if (!value) return undefined;
  return Object.fromEntries([...value.matchAll(/([a-z]+)=("(?:[^"\\]|\\.)*"|[^,]*)/g)].map(([, name, raw]) => [name!, raw!.startsWith('"') ? raw!.slice(1, -1).replace(/\\(.)/g, "$1") : raw!.trim()]));
}

/**
 * "hit" (any hit), "miss", "stale", "bypass", "method", ... (the fwd= reason), or an object whose
 * fields must all match, e.g. { hit: true, detail: "memory" } or { fwd: "bypass", detail: "websocket" }.
 */
export type ExpectedCacheStatus = string | Record<string, string | boolean | number>;

function cacheStatusMatches(parsed: Record<string, string | boolean>, expected: ExpectedCacheStatus): boolean {
  if (typeof expected === "string") return expected === "hit" ? parsed.hit === true : parsed.fwd === expected;
  return Object.entries(expected).every(([name, value]) => String(parsed[name] ?? false) === String(value));
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

/** For `expect.extend(outpostMatchers)`. */
export const outpostMatchers = {
  toHaveCacheStatus(received: Response, expected: ExpectedCacheStatus): MatcherResult {
    const header = received.headers.get("cache-status");
    const parsed = parseCacheStatus(header);
    const pass = parsed !== undefined && cacheStatusMatches(parsed, expected);
    return {
      pass,
      message: () => `expected Cache-Status ${pass ? "not " : ""}to match ${JSON.stringify(expected)}, got ${header === null ? "no Cache-Status header" : JSON.stringify(header)}`,
    };
  },
  toBeServedBy(received: Response, pool: string, origin?: string): MatcherResult {
    const header = received.headers.get("outpost-upstream");
    const upstream = parseUpstream(header);
    const pass = upstream !== undefined && upstream.pool === pool && (origin === undefined || upstream.origin === origin);
    const wanted = origin === undefined ? `pool "${pool}"` : `pool "${pool}", origin "${origin}"`;
    return {
      pass,
      message: () => `expected ${pass ? "not " : ""}to be served by ${wanted}, got ${header === null ? "no Outpost-Upstream header (a cache hit, or not proxied by Outpost)" : JSON.stringify(header)}`,
    };
  },
};

/** What Outpost would decide for a request under `config`, offline (the route tests' decision). */
export function routeDecision(config: OutpostConfigInput, request: Partial<RouteTest["request"]> & { url: string }): RouteDecision {
  const validation = validateConfig(config);
  if (!validation.ok) throw new Error(`invalid configuration:\n${validation.problems.join("\n")}`);
  return decideRoute(validation.config, { method: "GET", headers: {}, ...request });
}

interface OutpostMatchers<R = unknown> {
  /** Cache-Status says `expected`: "hit", a fwd= reason ("miss", "bypass", ...), or fields to match. */
  toHaveCacheStatus(expected: ExpectedCacheStatus): R;
  /** Outpost-Upstream names this pool (and origin, when given). */
  toBeServedBy(pool: string, origin?: string): R;
}

declare module "vitest" {
  // vitest 5's home for custom matchers: `expect(x).toBeServedBy(...)` type-checks once extended.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown> extends OutpostMatchers<R> {}
}

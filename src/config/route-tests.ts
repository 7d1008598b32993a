// Route tests (`[[vars.OUTPOST.tests]]`): each names a request and what Outpost should decide for it.
// They run offline, with the stage functions the worker and /__outpost/explain call (matchRoute,
// selectPools, cacheBypassReason, isWebSocketUpgrade), so a test that passes here describes what
// production does. Health is not applied (every origin counts as up), and random steering is shown
// for a draw of 0, as explain does.
import { matchRoute } from "../pipeline/match-route.ts";
import { cacheBypassReason } from "../pipeline/serve-with-cache.ts";
import { isWebSocketUpgrade } from "../pipeline/websocket.ts";
import { selectPools, type VisitorCf } from "../steering/select-pools.ts";
import type { RouteTest } from "./schema.ts";
import type { CompiledConfig } from "./validate-config.ts";

/** What Outpost decides for a request, in the terms a route test's `expect` uses. */
export interface RouteDecision {
  route: string | false;
  pools: string[];
  origin: string | undefined;
  reason: string | undefined;
  cache: "cache" | "bypass" | undefined;
  /** Why the cache is bypassed, e.g. "disabled", "cookie", "method", "websocket". */
  cacheDetail: string | undefined;
}

export interface Mismatch {
  field: keyof RouteTest["expect"];
  expected: unknown;
  actual: unknown;
}

export interface RouteTestResult {
  index: number;
  test: RouteTest;
  actual: RouteDecision;
  mismatches: Mismatch[];
}

export function visitorCf(request: RouteTest["request"]): VisitorCf {
  return { country: request.country, continent: request.continent, colo: request.colo, regionCode: request.region_code, latitude: request.latitude, longitude: request.longitude };
}

/** The decision the worker's stages make for `request`, without contacting any origin. */
export function decideRoute(config: CompiledConfig, request: RouteTest["request"]): RouteDecision {
  const url = new URL(request.url);
  const route = matchRoute(config, url);
  if (!route) return { route: false, pools: [], origin: undefined, reason: undefined, cache: undefined, cacheDetail: undefined };
  const steering = selectPools(route, { cf: visitorCf(request), clientIp: request.ip ?? null, random: () => 0 });
  const fetchRequest = new Request(url, { method: request.method, headers: request.headers });
  const bypass = isWebSocketUpgrade(fetchRequest) ? { fwd: "bypass", detail: "websocket" } : cacheBypassReason(fetchRequest, route);
  return {
    route: route.name,
    pools: [...new Set(steering.candidates.map((candidate) => candidate.pool.name))],
    origin: steering.candidates[0]?.origin.name,
    reason: steering.reason,
    cache: bypass ? "bypass" : "cache",
    cacheDetail: bypass ? (bypass.detail ?? bypass.fwd) : undefined,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function runRouteTests(config: CompiledConfig, tests: ReadonlyArray<RouteTest> = config.tests): RouteTestResult[] {
  return tests.map((test, index) => {
    const actual = decideRoute(config, test.request);
    const mismatches: Mismatch[] = [];
    for (const field of ["route", "pools", "origin", "reason", "cache"] as const) {
      const expected = test.expect[field];
      if (expected !== undefined && !same(expected, actual[field])) mismatches.push({ field, expected, actual: actual[field] });
    }
    return { index, test, actual, mismatches };
  });
}

function describeRequest({ request }: RouteTest): string {
  const where = [request.country, request.continent, request.colo].filter(Boolean).join("/");
  const method = request.method === "GET" ? "" : `${request.method} `;
  return `${method}${request.url}${where ? ` [${where}]` : ""}`;
}

const show = (value: unknown) => (value === false ? "(no route)" : Array.isArray(value) ? value.join(" > ") : String(value ?? "-"));

/** A table of every test (status, request, route, pools, cache), then each mismatch as expected/actual lines. */
export function formatRouteTestResults(results: ReadonlyArray<RouteTestResult>): string[] {
  const rows = results.map((result) => [
    result.mismatches.length === 0 ? "pass" : "FAIL",
    `tests[${result.index}]`,
    describeRequest(result.test),
    show(result.actual.route),
    show(result.actual.pools),
    result.actual.cache === "bypass" ? `bypass (${result.actual.cacheDetail})` : show(result.actual.cache),
  ]);
  const header = ["", "test", "request", "route", "pools", "cache"];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  const lines = [line(header), ...rows.map(line)];
  for (const result of results) {
    if (result.mismatches.length === 0) continue;
    lines.push("", `tests[${result.index}] ${describeRequest(result.test)}:`);
    for (const { field, expected, actual } of result.mismatches) {
      lines.push(`  expect.${field}`, `    - expected: ${show(expected)}`, `    + actual:   ${show(actual)}`);
    }
  }
  return lines;
}

import { describe, expect, it } from "vitest";
import { cachePolicySchema, type CachePolicy } from "../../../src/config/schema.ts";
import { ageSeconds, decideReuse, decideStorage, entryTimes, isUsableOnError, ttlSeconds, type StorageDecision } from "../../../src/cache/freshness.ts";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const httpDate = (ms: number) => new Date(ms).toUTCString();
const policy = (overrides: Record<string, unknown> = {}): CachePolicy => cachePolicySchema.parse(overrides);

function decide(
  responseHeaders: Record<string, string>,
  options: { status?: number; method?: string; request?: Record<string, string>; policy?: Record<string, unknown>; requestedAt?: number } = {},
): StorageDecision {
  return decideStorage({
    method: options.method ?? "GET",
    requestHeaders: new Headers(options.request ?? {}),
    status: options.status ?? 200,
    responseHeaders: new Headers({ date: httpDate(NOW), ...responseHeaders }),
    policy: policy(options.policy),
    receivedAt: NOW,
    requestedAt: options.requestedAt,
  });
}

const lifetime = (decision: StorageDecision) => (decision.store ? decision.lifetimeSeconds : decision.reason);

describe("storability (RFC 9111 §3)", () => {
  it.each([
    ["a POST", { "cache-control": "max-age=60" }, { method: "POST" }, "method"],
    ["a HEAD", { "cache-control": "max-age=60" }, { method: "HEAD" }, "method"],
    ["a 206", { "cache-control": "max-age=60" }, { status: 206 }, "partial-content"],
    ["no-store", { "cache-control": "max-age=60, no-store" }, {}, "no-store"],
    ["a request's no-store", { "cache-control": "max-age=60" }, { request: { "cache-control": "no-store" } }, "no-store"],
    ["private", { "cache-control": "private, max-age=60" }, {}, "private"],
    ['private="set-cookie"', { "cache-control": 'private="set-cookie", max-age=60' }, {}, "private"],
    ["an answer to Authorization", { "cache-control": "max-age=60" }, { request: { authorization: "Bearer x" } }, "authorization"],
    ["Set-Cookie", { "cache-control": "max-age=60", "set-cookie": "id=1" }, {}, "set-cookie"],
    ["Vary: *", { "cache-control": "max-age=60", vary: "Accept, *" }, {}, "vary-star"],
    ["a 302 without freshness", {}, { status: 302 }, "status"],
    ["a 500 without freshness", {}, { status: 500 }, "status"],
    ["must-understand on an unknown status", { "cache-control": "must-understand, no-store, max-age=60" }, { status: 299 }, "must-understand"],
    ["a response already older than its lifetime", { "cache-control": "max-age=60", age: "60" }, {}, "not-fresh"],
    ["max-age=0", { "cache-control": "max-age=0" }, {}, "not-fresh"],
  ])("does not store %s", (_case, headers, options, reason) => {
    expect(decide(headers, options)).toEqual({ store: false, reason });
  });

  it.each([
    ["Authorization with public", { "cache-control": "public, max-age=60" }],
    ["Authorization with s-maxage", { "cache-control": "s-maxage=60" }],
    ["Authorization with must-revalidate", { "cache-control": "must-revalidate, max-age=60" }],
  ])("stores %s when the route opts in with cache_authorized (RFC 9111 §3.5)", (_case, headers) => {
    expect(decide(headers, { request: { authorization: "Bearer x" }, policy: { cache_authorized: true } }).store).toBe(true);
  });

  it("stores must-understand with no-store for a status it understands (RFC 9111 §5.2.2.3)", () => {
    expect(lifetime(decide({ "cache-control": "must-understand, no-store, max-age=60" }))).toBe(60);
  });

  it("stores Set-Cookie responses only when the route strips the cookie", () => {
    expect(decide({ "cache-control": "max-age=60", "set-cookie": "a=1" }, { policy: { strip_set_cookie: true } }).store).toBe(true);
  });

  it("stores a 302 with explicit freshness", () => {
    expect(lifetime(decide({ "cache-control": "max-age=30" }, { status: 302 }))).toBe(30);
  });
});

describe("freshness lifetime (RFC 9111 §4.2.1, RFC 9213)", () => {
  it.each([
    ["max-age", { "cache-control": "max-age=60" }, 60],
    ["s-maxage over max-age", { "cache-control": "max-age=60, s-maxage=120" }, 120],
    ["max-age over Expires", { "cache-control": "max-age=60", expires: httpDate(NOW + 3_600_000) }, 60],
    ["Expires minus Date", { expires: httpDate(NOW + 3_600_000) }, 3600],
    ["CDN-Cache-Control over Cache-Control", { "cdn-cache-control": "max-age=300", "cache-control": "max-age=60" }, 300],
    ["CDN-Cache-Control ignoring Cache-Control's no-store", { "cdn-cache-control": "max-age=300", "cache-control": "no-store" }, 300],
    ["CDN-Cache-Control ignoring Expires", { "cdn-cache-control": "public", expires: httpDate(NOW + 3_600_000) }, 0],
    ["Surrogate-Control over Cache-Control", { "surrogate-control": "max-age=200", "cache-control": "max-age=60" }, 200],
    ["CDN-Cache-Control over Surrogate-Control", { "cdn-cache-control": "max-age=300", "surrogate-control": "max-age=200" }, 300],
    ["heuristic: 10% since Last-Modified", { "last-modified": httpDate(NOW - 10_000_000) }, 1000],
    ["heuristic capped at one day", { "last-modified": httpDate(NOW - 100 * 86_400_000) }, 86_400],
    ["directive names in any case", { "cache-control": "MAX-AGE=60" }, 60],
    ["quoted argument", { "cache-control": 'max-age="60"' }, 60],
  ])("takes %s", (_case, headers, expected) => {
    expect(lifetime(decide(headers))).toBe(expected === 0 ? "not-fresh" : expected);
  });

  it.each([
    ["an invalid Expires", { expires: "0" }],
    ["an Expires in the past", { expires: httpDate(NOW - 1000) }],
    ["a negative max-age", { "cache-control": "max-age=-1" }],
    ["conflicting max-age duplicates", { "cache-control": "max-age=60, max-age=120" }],
    ["no-cache", { "cache-control": "no-cache, max-age=60" }],
    ["no freshness information", {}],
  ])("treats %s as not fresh", (_case, headers) => {
    expect(lifetime(decide(headers))).toBe("not-fresh");
  });

  it("lets the route's edge TTL replace the origin's lifetime", () => {
    expect(lifetime(decide({ "cache-control": "max-age=60" }, { policy: { edge_ttl_seconds: 600 } }))).toBe(600);
  });

  it("uses status_ttl_seconds for statuses without explicit freshness (negative caching)", () => {
    expect(lifetime(decide({}, { status: 404, policy: { status_ttl_seconds: { "404": 30 } } }))).toBe(30);
    expect(lifetime(decide({ "cache-control": "max-age=5" }, { status: 404, policy: { status_ttl_seconds: { "404": 30 } } }))).toBe(5);
  });

  it("ignores the origin's no-cache only when configured", () => {
    expect(lifetime(decide({ "cache-control": "no-cache, max-age=60" }, { policy: { ignore_origin_no_cache: true } }))).toBe(60);
  });
});

describe("age (RFC 9111 §4.2.3)", () => {
  it("takes the larger of Age and the apparent age from Date", () => {
    const fromAge = decide({ "cache-control": "max-age=60", age: "10" });
    const fromDate = decide({ "cache-control": "max-age=60", age: "10", date: httpDate(NOW - 20_000) });
    expect(fromAge.store && fromAge.initialAgeSeconds).toBe(10);
    expect(fromDate.store && fromDate.initialAgeSeconds).toBe(20);
  });

  const initialAge = (headers: Record<string, string>, options: { requestedAt?: number } = {}) => {
    const decision = decide({ "cache-control": "max-age=60", ...headers }, options);
    return decision.store ? decision.initialAgeSeconds : decision.reason;
  };

  it.each(["ten", "-5", "+5", "1.5", "7200.0", "5;x=1", "0x10", "1e3", ""])("ignores an invalid Age %j, as if absent (RFC 9111 §5.1)", (age) => {
    expect(initialAge({ age })).toBe(0);
  });

  it.each([
    ["0, 0", 0],
    ["0,7200", 0],
    ["10, 20", 10],
    ["30, abc", 30],
  ])("takes the first member of a list-valued Age %j (RFC 9111 §5.1)", (age, expected) => {
    expect(initialAge({ age })).toBe(expected);
  });

  it("finds a list whose first member is old already stale (RFC 9111 §5.1)", () => {
    expect(decide({ "cache-control": "max-age=60", age: "3600, 0" })).toEqual({ store: false, reason: "not-fresh" });
  });

  it("ignores a list whose first member is invalid", () => {
    expect(initialAge({ age: "abc, 3600" })).toBe(0);
  });

  it("clamps an Age beyond 2^31 (RFC 9111 §1.2.2)", () => {
    expect(decide({ "cache-control": `max-age=${2 ** 31}`, age: "99999999999" })).toEqual({ store: false, reason: "not-fresh" });
  });

  it("adds the response delay to the Age value (RFC 9111 §4.2.3 corrected_age_value)", () => {
    expect(initialAge({ age: "10" }, { requestedAt: NOW - 3_000 })).toBe(13);
    expect(initialAge({}, { requestedAt: NOW - 3_000 })).toBe(3);
  });

  it("takes the apparent age when it is larger than the corrected Age value", () => {
    expect(initialAge({ age: "10", date: httpDate(NOW - 20_000) }, { requestedAt: NOW - 3_000 })).toBe(20);
  });

  it("ignores an invalid Date for the apparent age", () => {
    expect(initialAge({ age: "10", date: "2026-11-23T11:00:00Z" })).toBe(10);
  });
});

describe("HTTP dates in freshness (RFC 9110 §5.6.7, RFC 9111 §5.3)", () => {
  const inAnHour = NOW + 3_600_000;

  it.each([
    ["an IMF-fixdate", httpDate(inAnHour)],
    ["an rfc850-date", "Monday, 23-Nov-26 13:00:00 GMT"],
    ["an asctime-date", "Mon Nov 23 13:00:00 2026"],
  ])("reads an Expires in %s", (_format, expires) => {
    expect(lifetime(decide({ expires }))).toBe(3600);
  });

  it.each([
    ["an ISO date", "2030-01-01"],
    ["another zone", httpDate(inAnHour).replace("GMT", "UTC")],
    ["a missing comma", httpDate(inAnHour).replace(",", "")],
    ["two field lines", `${httpDate(inAnHour)}, ${httpDate(inAnHour)}`],
  ])("treats an invalid Expires (%s) as already expired (RFC 9111 §5.3)", (_case, expires) => {
    expect(lifetime(decide({ expires }))).toBe("not-fresh");
  });

  it("measures Expires from the response time when Date is invalid", () => {
    expect(lifetime(decide({ expires: httpDate(inAnHour), date: "yesterday" }))).toBe(3600);
  });

  it("ignores an invalid Last-Modified for the heuristic (RFC 9111 §4.2.2)", () => {
    // Stored (a validator to revalidate with) but with no heuristic lifetime.
    expect(lifetime(decide({ "last-modified": "2020-01-01" }))).toBe(0);
  });
});

describe("CDN-Cache-Control parsed as a Structured Field (RFC 9213 §2.1)", () => {
  it.each([
    ["an unknown type", { "cdn-cache-control": "max-age=10000, &&&&&", "cache-control": "no-store" }, "no-store"],
    ["a String max-age", { "cdn-cache-control": 'max-age="10000"', "cache-control": "no-store" }, "no-store"],
    ["an upper-case directive", { "cdn-cache-control": "MAX-AGE=300", "cache-control": "max-age=60" }, 60],
    ["an empty field", { "cdn-cache-control": "", "cache-control": "max-age=60" }, 60],
    ["a field that fails, before Surrogate-Control", { "cdn-cache-control": "max-age= 300", "surrogate-control": "max-age=200" }, 200],
  ])("ignores a field with %s: Cache-Control applies", (_case, headers, expected) => {
    expect(lifetime(decide(headers))).toBe(expected === "no-store" ? "no-store" : expected);
  });

  it("ignores the parameters of a directive", () => {
    expect(lifetime(decide({ "cdn-cache-control": "max-age=300;foo=bar", "cache-control": "no-store" }))).toBe(300);
  });

  it("ignores an empty Surrogate-Control too", () => {
    expect(lifetime(decide({ "surrogate-control": "", "cache-control": "max-age=60" }))).toBe(60);
  });
});

describe("stale windows (RFC 5861, RFC 9111 §4.2.4)", () => {
  const windows = (decision: StorageDecision) => (decision.store ? [decision.staleWhileRevalidateSeconds, decision.staleIfErrorSeconds] : decision.reason);

  it.each([
    ["the origin's directives", { "cache-control": "max-age=60, stale-while-revalidate=30, stale-if-error=600" }, {}, [30, 600]],
    ["the route's defaults when the origin is silent", { "cache-control": "max-age=60" }, { stale_while_revalidate_seconds: 15 }, [15, 86_400]],
    ["none under must-revalidate", { "cache-control": "max-age=60, must-revalidate, stale-while-revalidate=30" }, {}, [0, 0]],
    ["none under proxy-revalidate", { "cache-control": "max-age=60, proxy-revalidate" }, {}, [0, 0]],
    ["none by default under s-maxage", { "cache-control": "s-maxage=60" }, { stale_while_revalidate_seconds: 15 }, [0, 0]],
    ["explicit ones under s-maxage", { "cache-control": "s-maxage=60, stale-while-revalidate=5, stale-if-error=50" }, {}, [5, 50]],
  ])("uses %s", (_case, headers, routePolicy, expected) => {
    expect(windows(decide(headers, { policy: routePolicy }))).toEqual(expected);
  });
});

describe("request max-stale against response directives that forbid stale (RFC 9111 §4.2.4)", () => {
  const timesFor = (cacheControl: string) => {
    const decision = decide({ "cache-control": cacheControl, etag: '"v1"' });
    if (!decision.store) throw new Error(`${cacheControl} must be storable`);
    return entryTimes(decision, NOW);
  };

  it.each([
    ["must-revalidate", "max-age=60, must-revalidate", "§5.2.2.2"],
    ["proxy-revalidate", "max-age=60, proxy-revalidate", "§5.2.2.8"],
    ["s-maxage", "s-maxage=60", "§5.2.2.10"],
    ["no-cache", "no-cache, max-age=60", "§5.2.2.4"],
  ])("max-stale does not override %s (%s)", (_directive, cacheControl) => {
    const times = timesFor(cacheControl);
    expect(times.mustRevalidate).toBe(true);
    expect(decideReuse(times, "max-stale", true, NOW + 120_000)).toEqual({ kind: "forward", reason: "stale" });
    expect(decideReuse(times, "max-stale=3600", true, NOW + 120_000)).toEqual({ kind: "forward", reason: "stale" });
  });

  it("max-stale serves a stale entry that allows it", () => {
    const times = timesFor("max-age=60");
    expect(times.mustRevalidate).toBeUndefined();
    expect(decideReuse(times, "max-stale=3600", true, NOW + 120_000)).toEqual({ kind: "fresh" });
  });

  it("reads entries stored before the field existed as allowing max-stale", () => {
    const { mustRevalidate: _absent, ...older } = timesFor("max-age=60, must-revalidate");
    expect(decideReuse(older, "max-stale", true, NOW + 120_000)).toEqual({ kind: "fresh" });
  });

  it("clears the mark when a later response no longer forbids stale (a 304 update spreads new times)", () => {
    const updated = { ...timesFor("max-age=60, must-revalidate"), ...timesFor("max-age=60") };
    expect(JSON.parse(JSON.stringify(updated)).mustRevalidate).toBeUndefined();
  });
});

describe("reuse of a stored entry", () => {
  const stored = decide({ "cache-control": "max-age=60, stale-while-revalidate=30, stale-if-error=300", age: "10" });
  if (!stored.store) throw new Error("fixture must be storable");
  const times = entryTimes(stored, NOW);

  it("is fresh until exactly the lifetime minus the initial age", () => {
    expect(decideReuse(times, null, false, NOW + 49_999).kind).toBe("fresh");
    expect(decideReuse(times, null, false, NOW + 50_000).kind).toBe("stale-while-revalidate");
  });

  it("serves stale while revalidating until the window closes", () => {
    expect(decideReuse(times, null, false, NOW + 79_999).kind).toBe("stale-while-revalidate");
    expect(decideReuse(times, null, false, NOW + 80_000)).toEqual({ kind: "forward", reason: "stale" });
  });

  it("stays usable on origin errors until stale-if-error ends", () => {
    expect(isUsableOnError(times, NOW + 349_999)).toBe(true);
    expect(isUsableOnError(times, NOW + 350_000)).toBe(false);
  });

  it("reports age and ttl in whole seconds", () => {
    expect(ageSeconds(times, NOW + 5_500)).toBe(15);
    expect(ttlSeconds(times, NOW + 5_000)).toBe(45);
    expect(ttlSeconds(times, NOW + 60_000)).toBe(-10);
  });

  it("ignores request directives by default", () => {
    expect(decideReuse(times, "no-cache", false, NOW).kind).toBe("fresh");
  });

  it.each([
    ["no-cache", NOW, "forward"],
    ["max-age=5", NOW, "forward"],
    ["max-age=15", NOW, "fresh"],
    ["min-fresh=100", NOW, "forward"],
    ["min-fresh=10", NOW, "fresh"],
    ["max-stale=40", NOW + 85_000, "fresh"],
    ["max-stale=10", NOW + 85_000, "forward"],
    ["max-stale", NOW + 85_000, "fresh"],
  ])("honours request %s when the route says so", (directive, now, kind) => {
    expect(decideReuse(times, directive, true, now).kind).toBe(kind);
  });
});

// Imported here, beside the tests that use them (imports are hoisted), so edits above stay apart.
import { isStaleIfErrorStatus, requestStaleIfErrorSeconds } from "../../../src/cache/freshness.ts";

// A configured TTL (edge_ttl_seconds, status_ttl_seconds) changes how long, never whether: each
// refusal below holds under the default policy and under every TTL a route can force.
describe("decideStorage: safety rules no configured TTL overrides", () => {
  const OLD = { "last-modified": httpDate(NOW - 10_000_000) };
  const forced = [
    ["the default policy", {}],
    ["edge_ttl_seconds", { edge_ttl_seconds: 600 }],
    ["status_ttl_seconds", { status_ttl_seconds: { "200": 600 } }],
  ] as const;
  const refusals: Array<[string, Record<string, string>, { status?: number; request?: Record<string, string> }, string]> = [
    ["private", { "cache-control": "private, max-age=60" }, {}, "private"],
    ["no-store", { "cache-control": "no-store" }, {}, "no-store"],
    ["Set-Cookie", { "cache-control": "max-age=60", "set-cookie": "sid=1" }, {}, "set-cookie"],
    ["an answer to Authorization", { "cache-control": "max-age=60" }, { request: { authorization: "Bearer x" } }, "authorization"],
    ["an answer to Authorization marked public", { "cache-control": "public, max-age=60" }, { request: { authorization: "Bearer x" } }, "authorization"],
    ["a cookie request's answer without freshness", {}, { request: { cookie: "sid=1" } }, "heuristic-with-cookie"],
    ["a cookie request's answer with only Last-Modified", OLD, { request: { cookie: "sid=1" } }, "heuristic-with-cookie"],
    ["a cookie request's answer stale at once (max-age=0, ETag)", { "cache-control": "max-age=0", etag: '"v1"' }, { request: { cookie: "sid=1" } }, "heuristic-with-cookie"],
    ["a 302 without explicit freshness", {}, { status: 302 }, "status"],
    ...[400, 401, 403, 429, 431, 500, 501, 502, 503, 504, 505, 299, 599].map(
      (status) => [`a ${status} with explicit freshness`, { "cache-control": "max-age=60" }, { status }, "status"] as [string, Record<string, string>, { status: number }, string],
    ),
  ];

  describe.each(forced)("under %s", (_name, routePolicy) => {
    it.each(refusals)("does not store %s", (_case, headers, options, reason) => {
      expect(decide(headers, { ...options, policy: routePolicy })).toEqual({ store: false, reason });
    });

    it("keeps no-cache's revalidation: the lifetime stays 0", () => {
      expect(lifetime(decide({ "cache-control": "no-cache", etag: '"v1"' }, { policy: routePolicy }))).toBe(0);
    });
  });

  it("sets how long a storable answer is fresh", () => {
    expect(lifetime(decide(OLD, { policy: { edge_ttl_seconds: 600 } }))).toBe(600);
    expect(lifetime(decide({ "cache-control": "max-age=0" }, { policy: { edge_ttl_seconds: 600 } }))).toBe(600);
    expect(lifetime(decide({}, { status: 404, policy: { status_ttl_seconds: { "404": 30 } } }))).toBe(30);
  });

  it("stores other statuses only when the route lists them in cache_statuses, with the origin's freshness", () => {
    const policyWith500 = { cache_statuses: [200, 500], edge_ttl_seconds: 30 };
    expect(lifetime(decide({ "cache-control": "max-age=60" }, { status: 500, policy: policyWith500 }))).toBe(30);
    expect(decide({}, { status: 500, policy: { cache_statuses: [200, 500], status_ttl_seconds: { "500": 5 } } })).toEqual({ store: false, reason: "status" });
    expect(decide({ "cache-control": "max-age=60" }, { status: 404, policy: { cache_statuses: [200] } })).toEqual({ store: false, reason: "status" });
  });

  it("never lets an error replace a stored entry, even a listed one (stale-if-error needs it)", () => {
    const input = (status: number) => ({
      method: "GET",
      requestHeaders: new Headers(),
      status,
      responseHeaders: new Headers({ date: httpDate(NOW), "cache-control": "max-age=60" }),
      policy: policy({ cache_statuses: [200, 404, 500, 503] }),
      receivedAt: NOW,
    });
    expect(decideStorage({ ...input(500), replacesEntry: true })).toEqual({ store: false, reason: "error-over-entry" });
    expect(decideStorage({ ...input(503), replacesEntry: true })).toEqual({ store: false, reason: "error-over-entry" });
    expect(decideStorage({ ...input(500), replacesEntry: false }).store).toBe(true);
    expect(decideStorage({ ...input(404), replacesEntry: true }).store).toBe(true);
  });

  it("stores an answer to Authorization with cache_authorized only when the origin allows it (RFC 9111 §3.5)", () => {
    const authorized = { request: { authorization: "Bearer x" } };
    expect(decide({ "cache-control": "public, max-age=60" }, { ...authorized, policy: { cache_authorized: true } }).store).toBe(true);
    expect(decide({ "cache-control": "max-age=60" }, { ...authorized, policy: { cache_authorized: true, edge_ttl_seconds: 600 } })).toEqual({ store: false, reason: "authorization" });
  });

  it.each([
    ["cookies the route keys on", { cookie: "lang=en" }, { key: { cookies: ["lang"] } }],
    ["public_cookies", { cookie: "_ga=GA1.2; lang=en" }, { key: { cookies: ["lang"] }, public_cookies: ["_ga"] }],
    ["an empty Cookie field", { cookie: " " }, {}],
  ])("stores a heuristic answer to a request with only %s", (_case, request, routePolicy) => {
    expect(lifetime(decide(OLD, { request, policy: { ...routePolicy, edge_ttl_seconds: 600 } }))).toBe(600);
  });

  it.each([
    ["a keyed and an unkeyed cookie", "lang=en; sid=1"],
    ["an unparsable Cookie field", "garbage"],
  ])("does not store a heuristic answer to a request with %s", (_case, cookie) => {
    expect(decide(OLD, { request: { cookie }, policy: { key: { cookies: ["lang"] }, edge_ttl_seconds: 600 } })).toEqual({ store: false, reason: "heuristic-with-cookie" });
  });

  it("stores a cookie request's answer on the origin's word: positive explicit freshness or public", () => {
    expect(lifetime(decide({ "cache-control": "max-age=60" }, { request: { cookie: "sid=1" } }))).toBe(60);
    expect(lifetime(decide({ "cache-control": "public", ...OLD }, { request: { cookie: "sid=1" } }))).toBe(1000);
  });
});

describe("stale-if-error statuses and the request directive (RFC 5861 §4)", () => {
  it.each([500, 502, 503, 504])("counts %i as an error", (status) => {
    expect(isStaleIfErrorStatus(status)).toBe(true);
  });

  it.each([200, 304, 400, 404, 429, 501, 505, 599])("does not count %i as an error", (status) => {
    expect(isStaleIfErrorStatus(status)).toBe(false);
  });

  const stored = (cacheControl: string): Array<[string, string]> => [["cache-control", cacheControl]];

  it.each([
    ["stale-if-error=60", "max-age=60", {}, 60],
    ["max-age=5, stale-if-error=60", "max-age=60, stale-while-revalidate=5", {}, 60],
    ["stale-if-error=600", "max-age=60", { max_stale_if_error_seconds: 120 }, 120],
    [null, "max-age=60", {}, 0],
    ["stale-if-error", "max-age=60", {}, 0],
    ["stale-if-error=60", "max-age=60, must-revalidate", {}, 0],
    ["stale-if-error=60", "max-age=60, proxy-revalidate", {}, 0],
    ["stale-if-error=60", "no-cache", {}, 0],
    ["stale-if-error=60", "s-maxage=60", {}, 0],
  ])("gives request %j against stored %j the window it allows", (request, response, routePolicy, expected) => {
    expect(requestStaleIfErrorSeconds(request, stored(response), policy(routePolicy))).toBe(expected);
  });

  it("keeps an entry usable on error within the request's window, counted from the end of freshness", () => {
    const decision = decide({ "cache-control": "max-age=60" }, { policy: { stale_if_error_seconds: 0 } });
    if (!decision.store) throw new Error("fixture must be storable");
    const times = entryTimes(decision, NOW);
    expect(isUsableOnError(times, NOW + 60_000)).toBe(false);
    expect(isUsableOnError(times, NOW + 89_999, 30)).toBe(true);
    expect(isUsableOnError(times, NOW + 90_000, 30)).toBe(false);
  });
});

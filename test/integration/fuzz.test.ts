// Generated requests through the worker (workerd, a real echo origin that counts requests): odd
// methods, paths with dot segments and broken percent-encodings, odd hosts, huge, many and
// duplicated headers, invalid Range and conditional headers, odd request Cache-Control. Every
// answer must be well-formed, none may be an internal error, no answer may belong to another
// request's cache key, and the origin must have seen exactly the requests Outpost says it forwarded.
// 10,000 requests run with the hot tier as the only store (~10 s here); 1,000 more also go through
// the real Cache API and KV, whose local writes cost ~20 ms per stored miss.
//
// The requests come from fast-check with a fixed seed: a failure prints the seed and the failing
// requests. Requests run in small concurrent batches (the clock steps between batches), so which
// request is a hit can vary between runs; every check below holds whatever the order. To replay
// one order exactly, set FUZZ_CONCURRENCY to 1.
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { normalizeQuery } from "../../src/cache/cache-key.ts";
import { cachePolicySchema, type OutpostConfigInput } from "../../src/config/schema.ts";
import { classifyAdminPath } from "../../src/admin/admin-app.ts";
import { normalizeRequestUrl } from "../../src/lib/hosts.ts";
import { createOrigin, type EchoBody } from "../helpers/origins.ts";
import { createTestWorker, testEnv } from "../helpers/worker.ts";

const FUZZ_SEED = 20_261_123;
const FUZZ_REQUESTS = 10_000;
/** The second run writes every stored miss to the Cache API and KV, about 20 ms each here. */
const STORAGE_FUZZ_REQUESTS = 1_000;
const FUZZ_CONCURRENCY = 32;
/** Node's HTTP parser (the test origin) rejects request heads above 16 KiB with 431; the worker must pass that on. */
const HUGE_HEADER_MAX = 48 * 1024;

const LAST_MODIFIED = "Sat, 01 Nov 2026 00:00:00 GMT";

interface RequestSpec {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: string | undefined;
  advanceMs: number;
}

// --- generators ---------------------------------------------------------------------------------

/** Visible ASCII and spaces: what a header value may hold (workerd would send other characters as UTF-8, with a warning). */
const headerText = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

const method = fc.oneof(
  { weight: 12, arbitrary: fc.constant("GET") },
  { weight: 2, arbitrary: fc.constant("HEAD") },
  { weight: 3, arbitrary: fc.constantFrom("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE") },
  // Odd but accepted by the runtime (workerd refuses unknown tokens such as M-SEARCH before a worker runs).
  { weight: 1, arbitrary: fc.constantFrom("PROPFIND", "PURGE", "MKCOL", "SEARCH", "QUERY", "BAN", "get", "Delete") },
);

const host = fc.oneof(
  { weight: 10, arbitrary: fc.constant("www.example.com") },
  { weight: 3, arbitrary: fc.constantFrom("cdn.example.org", "a.b.example.org", "api.example.com") },
  {
    weight: 3,
    arbitrary: fc.constantFrom("WWW.Example.COM", "www.example.com:8443", "www.example.com.", "evil.example", "127.0.0.1", "[::1]", "169.254.169.254", "xn--bcher-kva.example", "localhost:1"),
  },
);

const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("a", "b", "static", "account", "x.css", "img.png", "index.html", "api", "v1") },
  { weight: 3, arbitrary: fc.constantFrom(".", "..", "%2e", "%2E%2e", ".%2e", "%2F", "..%2F", "%", "%zz", "%00", "%ff", "%C0%AE", ";x.css", "account;x.css", "@evil.example", "\\", "", "__outpost", "%7C", "|g:x", "~", "%20", "a b", "é", "𝄞") },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~%;@!$&'()*+,=:-]{0,12}$/) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 3000 }).map((n) => "L".repeat(n)) },
);
const freshPath = fc.array(segment, { minLength: 0, maxLength: 5 }).map((segments) => `/${segments.join("/")}`);
/**
 * Most requests reuse a few dozen paths (so hits, stale entries, Vary variants and collapsing happen),
 * the rest are new: every stored miss writes the Cache API and KV, which is what costs time here.
 */
const path = fc.oneof({ weight: 29, arbitrary: fc.constantFrom(...fc.sample(freshPath, { seed: FUZZ_SEED, numRuns: 40 })) }, { weight: 1, arbitrary: freshPath });

const queryParam = fc.tuple(
  fc.constantFrom("a", "b", "q", "v", "utm_source", "UTM_Campaign", "gclid", "fbclid", "sessionid", "", "a[]", "%zz", "&", "="),
  fc.oneof(fc.constantFrom("", "1", "2", "%20", "+", "%2B", "%ZZ", "%FF", "%EF%BF%BD", "a=b", "%26", "<script>"), fc.stringMatching(/^[A-Za-z0-9%+=._-]{0,10}$/)),
);
const freshQuery = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  { weight: 4, arbitrary: fc.array(queryParam, { minLength: 1, maxLength: 5 }).map((params) => `?${params.map(([n, v]) => `${n}=${v}`).join("&")}`) },
  { weight: 1, arbitrary: fc.constantFrom("?", "??", "?&&&", "?=", "?a", "?%", "?a=1#frag", "?a=1&a=2&a=1") },
);
const query = fc.oneof({ weight: 29, arbitrary: fc.constantFrom(...fc.sample(freshQuery, { seed: FUZZ_SEED, numRuns: 12 })) }, { weight: 1, arbitrary: freshQuery });

const oddDate = fc.constantFrom(LAST_MODIFIED, "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "not a date", "0", "-1", "Sat, 01 Jan 99999 00:00:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "2026-11-23T12:00:00Z", "");
const headerPair: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant("range"), fc.constantFrom("bytes=abc", "bytes=5-1", "bytes=0-0,2-3", "bytes=0-1, 5-9", "bytes=-0", "bytes=0-", "bytes=-5", "bytes=3-7", "bytes=99999999999999999999-", "bytes=0-99999999999999999999", "items=0-1", "bytes = 1 - 2", "bytes=", "bytes=--1", "", "bytes=1-2-3")),
  fc.tuple(fc.constant("if-range"), fc.oneof(fc.constantFrom('"fuzz"', 'W/"fuzz"', '"other"', "garbage"), oddDate)),
  fc.tuple(fc.constant("if-none-match"), fc.oneof(fc.constantFrom("*", '"fuzz"', 'W/"fuzz"', '"a", "fuzz"', '""', '"', "fuzz", ",,,", 'W/', '"x" garbage "fuzz"'), headerText(40))),
  fc.tuple(fc.constantFrom("if-modified-since", "if-unmodified-since"), oddDate),
  fc.tuple(fc.constant("if-match"), fc.constantFrom("*", '"fuzz"', "garbage")),
  fc.tuple(
    fc.constant("cache-control"),
    fc.oneof(
      fc.constantFrom("no-cache", "no-store", "max-age=0", "max-age=-1", "max-age=abc", "max-age=99999999999999999999", "max-stale", "max-stale=abc", "min-fresh=99999999", "only-if-cached", "no-transform", "=,,,", 'max-age="10', 'private="', "NO-CACHE", "max-age=1, max-age=2"),
      headerText(30),
    ),
  ),
  fc.tuple(fc.constant("pragma"), fc.constantFrom("no-cache", "garbage")),
  fc.tuple(fc.constant("host"), fc.constantFrom("evil.example", "127.0.0.1:1", "", "www.example.com:99999", "a b", "[::1]")),
  fc.tuple(fc.constantFrom("x-forwarded-host", "x-forwarded-proto", "x-forwarded-scheme", "x-original-url", "x-rewrite-url", "forwarded"), fc.constantFrom("evil.example", "http", "/admin", "for=1.2.3.4;host=evil.example")),
  fc.tuple(fc.constantFrom("x-http-method-override", "x-http-method", "x-method-override"), fc.constantFrom("DELETE", "PURGE", "garbage")),
  fc.tuple(fc.constant("connection"), fc.constantFrom("close", "keep-alive, x-secret", "upgrade", ",,", "cache-control, authorization")),
  fc.tuple(fc.constantFrom("keep-alive", "te", "upgrade", "proxy-authorization", "proxy-connection", "trailer", "transfer-encoding"), fc.constantFrom("timeout=5", "trailers", "websocket", "Basic Zm9vOmJhcg==", "chunked", "gzip, chunked")),
  fc.tuple(fc.constant("authorization"), fc.constantFrom("Bearer a", "Bearer b", "Basic ???")),
  // Key dimensions (x-variant, the lang cookie) and Vary (Accept-Language) mostly take a few values, so entries are shared.
  fc.tuple(fc.constant("cookie"), fc.oneof({ weight: 19, arbitrary: fc.constantFrom("lang=en", "lang=fr", "session=1", ";;=;", "=a", "lang", "lang=en; lang=fr", " lang = en ") }, { weight: 1, arbitrary: headerText(60) })),
  fc.tuple(fc.constantFrom("accept-language", "x-variant"), fc.oneof({ weight: 19, arbitrary: fc.constantFrom("en", "EN ", "fr", "", "de,en;q=0.5") }, { weight: 1, arbitrary: headerText(20) })),
  fc.tuple(fc.constant("content-length"), fc.constantFrom("0", "5", "-1", "abc", "99999999999")),
  fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), headerText(50)),
);

/** `arbitrary` once in `oneIn` cases, null otherwise. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>, oneIn: number) => fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });

/** Headers as sent: a few odd ones, sometimes one huge value, sometimes many, sometimes one field repeated. */
const headers = fc
  .tuple(
    fc.array(headerPair, { maxLength: 6 }),
    rarely(fc.integer({ min: 1024, max: HUGE_HEADER_MAX }), 30),
    rarely(fc.integer({ min: 20, max: 400 }), 40),
    rarely(fc.tuple(fc.constantFrom("accept-language", "x-variant", "cache-control", "range", "if-none-match", "x-dup"), fc.integer({ min: 2, max: 60 })), 15),
  )
  .map(([pairs, hugeLength, manyCount, repeated]) => {
    const all: Array<[string, string]> = [...pairs];
    if (hugeLength !== null) all.push(["x-huge", "h".repeat(hugeLength)]);
    if (manyCount !== null) for (let i = 0; i < manyCount; i += 1) all.push([`x-many-${i}`, String(i)]);
    if (repeated !== null) for (let i = 0; i < repeated[1]; i += 1) all.push([repeated[0], `v${i % 3}`]);
    // One Cookie field, as HTTP/2 cookie crumbs are joined for HTTP/1.1 (RFC 9113 §8.2.3). Several
    // Cookie fields are a case of their own in security.test.ts.
    const cookies = all.filter(([name]) => name === "cookie").map(([, value]) => value);
    const rest = all.filter(([name]) => name !== "cookie");
    return cookies.length === 0 ? rest : [...rest, ["cookie", cookies.join("; ")] as [string, string]];
  });

const requestSpec: fc.Arbitrary<RequestSpec> = fc.record({
  method,
  url: fc.tuple(fc.constantFrom("https", "http"), host, path, query).map(([scheme, h, p, q]) => `${scheme}://${h}${p}${q}`),
  headers,
  body: fc.option(headerText(200)).map((b) => b ?? undefined),
  // Now and then the clock moves on, so stored entries go stale and are revalidated.
  advanceMs: fc.oneof({ weight: 299, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 70_000 }) }),
});

// --- the worker under test -----------------------------------------------------------------------

type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;

const siteCache: CacheSettings = {
  request_cache_control: "honor",
  status_ttl_seconds: { "404": 30 },
  query: { deny: ["sessionid"] },
  key: { headers: ["x-variant"], cookies: ["lang"] },
};

function fuzzConfig(originUrl: string): OutpostConfigInput {
  return {
    cache_version: `fuzz-${crypto.randomUUID().slice(0, 8)}`,
    pools: [{ name: "main", origins: [{ name: "echo", address: originUrl }] }],
    routes: [
      { name: "site", hosts: ["www.example.com"], default_pools: ["main"], cache: siteCache },
      { name: "static", hosts: ["*.example.org"], path: "/static/*", default_pools: ["main"], cache: { edge_ttl_seconds: 300, query: { allow: ["v"] } } },
      { name: "live", hosts: ["api.example.com"], default_pools: ["main"], cache: { enabled: false } },
    ],
  };
}

// --- what every answer must look like ------------------------------------------------------------

const CACHE_STATUS =
  /^Outpost(?:; (?:hit|fwd=(?:miss|stale|bypass|method|uri-miss|vary-miss|request)|fwd-status=[1-5]\d\d|ttl=-?\d+|stored|collapsed|key="(?:[^"\\]|\\.)*"|detail=(?:[A-Za-z][A-Za-z0-9_.:/-]*|"(?:[^"\\]|\\.)*")))*$/;
/** Error codes a well-formed request mix may legitimately produce (the origin is up throughout). */
const EXPECTED_ERROR_CODES = new Set(["no_route", "admin_disabled", "not_cached"]);
const ROUTE_QUERY = { site: cachePolicySchema.parse(siteCache).query, static: cachePolicySchema.parse({ query: { allow: ["v"] } }).query };

interface Outcome {
  index: number;
  spec: RequestSpec;
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** A request field as the worker reads it (values trimmed, repeated fields joined with ", "). */
function header(spec: RequestSpec, name: string): string | null {
  const headers = new Headers();
  for (const [n, v] of spec.headers) if (n === name) headers.append(n, v);
  return headers.get(name);
}

/** Every problem with one answer; empty when it is well-formed. */
function problemsWith({ spec, status, headers, body }: Outcome): string[] {
  const problems: string[] = [];
  const url = new URL(spec.url);
  const method = spec.method.toUpperCase();
  if (status < 100 || status > 599) problems.push(`status ${status} out of range`);
  const cacheStatus = headers.get("cache-status");
  // A path that only decodes or case-folds to the admin prefix is refused, never proxied (app.ts).
  const disguisedAdmin = classifyAdminPath(url.pathname, "/__outpost") === "disguised";
  // The test origin refuses a head over 16 KiB: with a 431, or, when it closes the socket while
  // workerd is still writing the head (a race), with a reset that Outpost reports as 502.
  const headOverOriginLimit = spec.headers.reduce((bytes, [name, value]) => bytes + name.length + value.length + 4, 0) > 16 * 1024;
  if (disguisedAdmin && (cacheStatus !== null || status !== 400)) problems.push(`disguised admin path answered ${status} ${cacheStatus ?? ""}`);
  if (cacheStatus === null) {
    // Generated by Outpost itself: a JSON error with a known code, never cached (HEAD: no body).
    const text = new TextDecoder().decode(body);
    let code: unknown;
    if (method === "HEAD") {
      if (text !== "") problems.push("HEAD error with a body");
      if (status !== 404 && status !== 504 && !disguisedAdmin) problems.push(`unexpected HEAD error ${status}`);
    } else {
      try {
        code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
      } catch {
        problems.push(`answer without Cache-Status is not JSON: ${text.slice(0, 80)}`);
      }
      const refusedHead = headOverOriginLimit && status === 502 && code === "origin_unreachable";
      if (typeof code !== "string" || !(EXPECTED_ERROR_CODES.has(code) || (disguisedAdmin && code === "invalid_request") || refusedHead)) problems.push(`unexpected error ${status} ${String(code)}`);
    }
    if (code === "not_cached" && !/only-if-cached/i.test(header(spec, "cache-control") ?? "")) problems.push("not_cached without only-if-cached");
    if (!headers.get("content-type")?.startsWith("application/json")) problems.push("error without a JSON content type");
    if (headers.get("cache-control") !== "no-store") problems.push("error answer without Cache-Control: no-store");
    return problems;
  }
  if (!CACHE_STATUS.test(cacheStatus)) problems.push(`unparseable Cache-Status: ${cacheStatus}`);
  const hit = /; hit(;|$)/.test(cacheStatus);
  if (hit === /; fwd=/.test(cacheStatus)) problems.push(`Cache-Status must say either hit or fwd: ${cacheStatus}`);
  if (status >= 500 && !headers.has("x-origin")) problems.push(`5xx not from the origin: ${status}`);

  const contentLength = headers.get("content-length");
  const bodyless = method === "HEAD" || status === 204 || status === 304;
  if (bodyless && body.byteLength > 0) problems.push(`${method} ${status} with a body of ${body.byteLength} bytes`);
  if (contentLength !== null && !bodyless && Number(contentLength) !== body.byteLength) problems.push(`Content-Length ${contentLength} but ${body.byteLength} bytes`);
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers.get("content-range") ?? "");
    if (!range) problems.push(`206 with Content-Range ${headers.get("content-range")}`);
    else {
      const [start, end, size] = range.slice(1).map(Number) as [number, number, number];
      if (!(start <= end && end < size)) problems.push(`206 with an impossible range ${range[0]}`);
      if (body.byteLength !== end - start + 1) problems.push(`206 ${range[0]} with ${body.byteLength} bytes`);
    }
    if (header(spec, "range") === null) problems.push("206 without a Range request");
  }
  if (status === 416 && !/^bytes \*\/\d+$/.test(headers.get("content-range") ?? "")) problems.push(`416 with Content-Range ${headers.get("content-range")}`);
  if (status === 304 && header(spec, "if-none-match") === null && header(spec, "if-modified-since") === null) problems.push("304 without a conditional request");

  // The answer belongs to this request: the echo origin names what it was asked, and every part of
  // the cache key (host, path, kept query, key header and cookie, Vary) must match.
  if (status === 200 && headers.get("content-type") === "application/json" && !bodyless) {
    let echo: EchoBody | undefined;
    try {
      echo = JSON.parse(new TextDecoder().decode(body)) as EchoBody;
    } catch {
      problems.push("echo body is not JSON");
    }
    if (echo) problems.push(...echoMismatches(echo, url, spec, method, hit));
  }
  return problems;
}

function echoMismatches(echo: EchoBody, asked: URL, spec: RequestSpec, method: string, hit: boolean): string[] {
  const problems: string[] = [];
  // Outpost answers a host in one spelling (no trailing dot: src/lib/hosts.ts).
  const url = normalizeRequestUrl(asked);
  // The origin's request target, as it arrived: path and query of the upstream URL.
  const queryAt = echo.url.indexOf("?");
  const seen = { pathname: queryAt < 0 ? echo.url : echo.url.slice(0, queryAt), search: queryAt < 0 ? "" : echo.url.slice(queryAt) };
  if (seen.pathname !== url.pathname) problems.push(`answer for path ${seen.pathname}, asked ${url.pathname}`);
  if (echo.headers["x-forwarded-host"] !== url.host) problems.push(`answer for host ${echo.headers["x-forwarded-host"]}, asked ${url.host}`);
  const routeQuery = url.hostname.endsWith(".example.org") ? ROUTE_QUERY.static : url.hostname === "www.example.com" ? ROUTE_QUERY.site : undefined;
  if (routeQuery && normalizeQuery(seen.search, routeQuery) !== normalizeQuery(url.search, routeQuery)) problems.push(`answer for query ${seen.search}, asked ${url.search}`);
  if (url.hostname === "www.example.com") {
    const norm = (value: string | null | undefined) => (value ?? "").trim();
    if (norm(echo.headers["x-variant"]) !== norm(header(spec, "x-variant"))) problems.push("answer for another x-variant");
    // The first lang cookie wins (RFC 6265 §5.4 order), as in the key.
    const firstLang = (cookie: string | null | undefined) => {
      for (const part of (cookie ?? "").split(";")) {
        const eq = part.indexOf("=");
        if (eq > 0 && part.slice(0, eq).trim() === "lang") return part.slice(eq + 1).trim();
      }
      return undefined;
    };
    if (firstLang(echo.headers.cookie) !== firstLang(header(spec, "cookie"))) problems.push("answer for another lang cookie");
    const vary = (value: string | null | undefined) => (value ?? "").trim().replace(/\s+/g, " ").toLowerCase();
    if (vary(echo.headers["accept-language"]) !== vary(header(spec, "accept-language"))) problems.push("answer for another Accept-Language");
  }
  if (!hit && echo.method !== method) problems.push(`origin saw ${echo.method}, asked ${method}`);
  return problems;
}

// --- the run -------------------------------------------------------------------------------------

function buildRequest(spec: RequestSpec): Request {
  const headers = new Headers();
  for (const [name, value] of spec.headers) headers.append(name, value);
  const hasBody = spec.body !== undefined && spec.method.toUpperCase() !== "GET" && spec.method.toUpperCase() !== "HEAD";
  return new Request(spec.url, { method: spec.method, headers, body: hasBody ? spec.body : undefined });
}

function describeSpec(spec: RequestSpec): string {
  const shown = spec.headers.map(([n, v]) => `${n}: ${v.length > 60 ? `${v.slice(0, 20)}…(${v.length} chars)` : v}`);
  return `${spec.method} ${spec.url.length > 200 ? `${spec.url.slice(0, 200)}…` : spec.url} [${shown.slice(0, 12).join(" | ")}${shown.length > 12 ? ` | …${shown.length - 12} more` : ""}]`;
}

interface FuzzRun {
  sent: number;
  failures: string[];
  forwarded: number;
  originHits: number;
  summary: string;
}

/** Sends `count` generated requests in batches and checks every answer. */
async function runFuzz({ seed, count, tiers }: { seed: number; count: number; tiers: OutpostConfigInput["cache_tiers"] }): Promise<FuzzRun> {
  const origin = await createOrigin("echo", { kind: "echo", headers: { "cache-control": "max-age=60", etag: '"fuzz"', "last-modified": LAST_MODIFIED, vary: "Accept-Language" } });
  const worker = createTestWorker(testEnv({ OUTPOST: { ...fuzzConfig(origin.url), cache_tiers: tiers } }));
  const specs = fc.sample(requestSpec, { seed, numRuns: count });
  // Thousands of requests log thousands of JSON lines (invalidations, origin 4xx): keep the output readable.
  const quiet = [vi.spyOn(console, "log").mockImplementation(() => {}), vi.spyOn(console, "warn").mockImplementation(() => {}), vi.spyOn(console, "debug").mockImplementation(() => {})];
  const startedAt = performance.now();
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let forwarded = 0;
  let sent = 0;
  try {
    for (let first = 0; first < specs.length; first += FUZZ_CONCURRENCY) {
      const batch = specs.slice(first, first + FUZZ_CONCURRENCY);
      worker.clock.advance(Math.max(...batch.map((spec) => spec.advanceMs)));
      const outcomes = await Promise.all(
        batch.map(async (spec, offset): Promise<Outcome | string> => {
          const index = first + offset;
          try {
            const response = await worker.fetch(buildRequest(spec));
            sent += 1;
            return { index, spec, status: response.status, headers: response.headers, body: new Uint8Array(await response.arrayBuffer()) };
          } catch (error) {
            return `#${index} threw ${String(error)} <- ${describeSpec(spec)}`;
          }
        }),
      );
      for (const outcome of outcomes) {
        if (typeof outcome === "string") {
          failures.push(outcome);
          continue;
        }
        statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
        const cacheStatus = outcome.headers.get("cache-status") ?? "";
        // Answered by the echo origin itself (X-Origin), not by the cache, a collapsed fill, or a
        // stale copy served because the origin failed (stale-if-error: a huge-header request can
        // meet a reset instead of Node's 431 under load, and a stored copy of its URL answers).
        if (cacheStatus && !/; (hit|collapsed|detail=stale-if-error)(;|$)/.test(cacheStatus) && outcome.headers.has("x-origin")) forwarded += 1;
        const problems = problemsWith(outcome);
        if (problems.length > 0) failures.push(`#${outcome.index} ${problems.join("; ")} <- ${describeSpec(outcome.spec)} -> ${outcome.status} ${cacheStatus}`);
      }
    }
  } finally {
    for (const spy of quiet) spy.mockRestore();
  }
  const elapsedMs = Math.round(performance.now() - startedAt);
  const summary = `seed ${seed}, tiers ${tiers?.join("+")}: ${sent} requests in ${elapsedMs} ms, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`;
  console.log(`fuzz: ${summary}`);
  return { sent, failures, forwarded, originHits: await origin.hits(), summary };
}

function expectClean(run: FuzzRun, count: number): void {
  expect(run.failures.slice(0, 20), `fuzz ${run.summary}: ${run.failures.length} failing requests (replay with this seed)`).toEqual([]);
  expect(run.sent, `fuzz ${run.summary}`).toBe(count);
  // The origin saw exactly the requests Cache-Status says were forwarded. Answers that the test
  // origin's HTTP parser gives itself (431 for heads over 16 KiB, 400 for methods it does not know)
  // never reach its counter and carry no X-Origin.
  expect(run.originHits, `fuzz ${run.summary}: origin hits`).toBe(run.forwarded);
}

describe("fuzzing the worker with generated requests", () => {
  // The request pipeline end to end, with the hot tier as the only store: cheap enough for 10,000.
  it(`answers ${FUZZ_REQUESTS} generated requests well-formed, without internal errors or another key's entry (seed ${FUZZ_SEED})`, async () => {
    expectClean(await runFuzz({ seed: FUZZ_SEED, count: FUZZ_REQUESTS, tiers: ["memory"] }), FUZZ_REQUESTS);
  }, 120_000);

  // Odd keys through the Cache API and KV as well; every stored miss writes both (the slow part).
  it(`answers ${STORAGE_FUZZ_REQUESTS} more through the Cache API and KV tiers the same way (seed ${FUZZ_SEED + 1})`, async () => {
    expectClean(await runFuzz({ seed: FUZZ_SEED + 1, count: STORAGE_FUZZ_REQUESTS, tiers: ["memory", "colo", "kv"] }), STORAGE_FUZZ_REQUESTS);
  }, 120_000);
});

// RFC caching rules end to end, each against an origin that sends the field the rule is about: Age
// (RFC 9111 §5.1, §4.2.3), Expires and HTTP dates (RFC 9110 §5.6.7, RFC 9111 §5.3), CDN-Cache-Control
// as a Structured Field (RFC 9213 §2.1), If-Modified-Since (RFC 9110 §13.1.3, RFC 9111 §4.3.2) and
// the request directives max-stale and only-if-cached (RFC 9111 §5.2.1, §4.2.4). Origin hit counts
// say whether the cache answered.
import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type OriginBehavior, type TestOrigin } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv, TestClock } from "../helpers/worker.ts";

type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;

const START = Date.UTC(2026, 10, 23, 12, 0, 0);
const httpDate = (ms: number) => new Date(ms).toUTCString();

/** Each test gets its own cache_version, so tests in this file never see each other's entries. */
async function cachedSite(behavior: OriginBehavior, cache: CacheSettings = {}) {
  const origin = await createOrigin("origin", behavior);
  const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache }), cache_version: crypto.randomUUID().slice(0, 8) };
  return { origin, worker: createTestWorker(testEnv({ OUTPOST: config }), { clock: new TestClock(START) }) };
}

/** A 200 whose Date is the test clock's start, so ages and Expires are measured from it. */
const fixed = (headers: Record<string, string | string[]>, body = "stored body"): OriginBehavior => ({
  kind: "fixed",
  status: 200,
  headers: { date: httpDate(START), "content-type": "text/plain", ...headers },
  body,
});

const get = (headers: Record<string, string> = {}, path = "/page") => new Request(`https://www.example.com${path}`, { headers });
const cacheStatus = (response: Response) => response.headers.get("cache-status") ?? "";

/** Two GETs `gapMs` apart; the second's response and the origin's hit count. */
async function twice(site: Awaited<ReturnType<typeof cachedSite>>, gapMs = 10_000, second: Record<string, string> = {}) {
  await (await site.worker.fetch(get())).text();
  site.worker.clock.advance(gapMs);
  const response = await site.worker.fetch(get(second));
  return { response, body: await response.text(), hits: await site.origin.hits() };
}

/** Waits (bounded, no sleeping) until the origin has received `count` requests. */
async function untilOriginSees(origin: TestOrigin, count: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if ((await origin.hits()) >= count) return;
  }
  throw new Error(`origin never saw ${count} requests`);
}

describe("Age (RFC 9111 §5.1)", () => {
  it.each([
    ["a list on one line, 0, 0", "0, 0"],
    ["a list whose first member is fresh, 0, 7200", "0, 7200"],
    ["two field lines 0 and 0", ["0", "0"]],
    ["two field lines 0 and 7200", ["0", "7200"]],
  ])("takes the first member of %s: stored and served with a finite Age", async (_case, age) => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=3600", age }));
    const { response, hits } = await twice(site);
    expect(hits).toBe(1);
    expect(cacheStatus(response)).toContain("hit");
    expect(response.headers.get("age")).toBe("10");
  });

  it.each(["abc", "-7200", "7200.0", "7200;foo=bar"])("ignores the invalid Age %j as if absent", async (age) => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=3600", age }));
    const { response, hits } = await twice(site);
    expect(hits).toBe(1);
    expect(response.headers.get("age")).toBe("10");
  });

  it("finds a list whose first member is older than the lifetime stale", async () => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=3600", age: "7200, 0" }));
    const { hits } = await twice(site);
    expect(hits).toBe(2);
  });
});

describe("corrected initial age includes the response delay (RFC 9111 §4.2.3)", () => {
  it("counts the time between sending the request and receiving the answer", async () => {
    // The origin's Date is when it answers, so the apparent age is 0: only the delay counts.
    const site = await cachedSite({ kind: "held", then: fixed({ "cache-control": "max-age=60", date: httpDate(START + 5_000) }) });
    const pending = site.worker.fetch(get());
    await untilOriginSees(site.origin, 1);
    site.worker.clock.advance(5_000); // the answer takes 5 s to arrive
    await site.origin.release();
    const first = await pending;
    await first.text();
    expect(cacheStatus(first)).toContain("ttl=55");

    site.worker.clock.advance(10_000);
    const second = await site.worker.fetch(get());
    await second.text();
    expect(second.headers.get("age")).toBe("15");
    expect(cacheStatus(second)).toContain("ttl=45");
    expect(await site.origin.hits()).toBe(1);
  });
});

describe("Expires and HTTP dates (RFC 9110 §5.6.7, RFC 9111 §5.3)", () => {
  it.each([
    ["an IMF-fixdate", httpDate(START + 3_600_000)],
    ["an rfc850-date (two-digit year)", "Monday, 23-Nov-26 13:00:00 GMT"],
    ["an asctime-date", "Mon Nov 23 13:00:00 2026"],
  ])("reads an Expires in %s", async (_format, expires) => {
    const site = await cachedSite(fixed({ expires }));
    const { response, hits } = await twice(site);
    expect(hits).toBe(1);
    expect(cacheStatus(response)).toContain("ttl=3590");
  });

  it.each([
    ["an ISO date", "2030-01-01"],
    ["a zone other than GMT", "Mon, 23 Nov 2026 13:00:00 UTC"],
    ["a missing comma", "Mon 23 Nov 2026 13:00:00 GMT"],
    ["a one-digit hour", "Mon, 23 Nov 2099 1:00:00 GMT"],
    ["0", "0"],
  ])("treats an invalid Expires (%s) as already expired", async (_case, expires) => {
    const site = await cachedSite(fixed({ expires }));
    const { hits } = await twice(site);
    expect(hits).toBe(2);
  });
});

describe("CDN-Cache-Control is a Structured Field Dictionary (RFC 9213 §2.1)", () => {
  it.each([
    ["an unknown type", "max-age=10000, &&&&&"],
    ["a String where an Integer belongs", 'max-age="10000"'],
    ["an upper-case key", "MAX-AGE=10000"],
    ["a space after =", "max-age= 10000"],
  ])("ignores a field with %s, so Cache-Control: no-store applies", async (_case, field) => {
    const site = await cachedSite(fixed({ "cdn-cache-control": field, "cache-control": "no-store" }));
    const first = await site.worker.fetch(get());
    await first.text();
    expect(cacheStatus(first)).toContain("detail=no-store");
    const { hits } = await twice(site);
    expect(hits).toBe(3);
  });

  it("ignores an unparsable field and takes Cache-Control's lifetime", async () => {
    const site = await cachedSite(fixed({ "cdn-cache-control": "max-age=10000, &&&&&", "cache-control": "max-age=60" }));
    const { response, hits } = await twice(site);
    expect(hits).toBe(1);
    expect(cacheStatus(response)).toContain("ttl=50");
  });

  it("obeys a valid field over Cache-Control: no-store", async () => {
    const site = await cachedSite(fixed({ "cdn-cache-control": "max-age=600;x=1, foo", "cache-control": "no-store" }));
    const { response, hits } = await twice(site);
    expect(hits).toBe(1);
    expect(cacheStatus(response)).toContain("ttl=590");
  });
});

describe("If-Modified-Since on a stored response (RFC 9110 §13.1.3, RFC 9111 §4.3.2)", () => {
  const lastModified = httpDate(START - 86_400_000);

  it("answers 304 for a valid date at or after Last-Modified", async () => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=600", "last-modified": lastModified }));
    const { response, hits } = await twice(site, 1_000, { "if-modified-since": lastModified });
    expect(response.status).toBe(304);
    expect(hits).toBe(1);
  });

  it.each([
    ["an ISO date", "2030-01-01"],
    ["a date in another zone", "Tue, 01 Jan 2030 00:00:00 UTC"],
    ["a date with dashes", "Tue, 01-Jan-2030 00:00:00 GMT"],
  ])("ignores an invalid date (%s): the whole stored response, no 304", async (_case, ifModifiedSince) => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=600", "last-modified": lastModified }));
    const { response, body, hits } = await twice(site, 1_000, { "if-modified-since": ifModifiedSince });
    expect(response.status).toBe(200);
    expect(body).toBe("stored body");
    expect(hits).toBe(1);
  });

  it("compares with the stored Date when there is no Last-Modified", async () => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=600" }));
    const { response, hits } = await twice(site, 1_000, { "if-modified-since": httpDate(START) });
    expect(response.status).toBe(304);
    expect(hits).toBe(1);
    const older = await site.worker.fetch(get({ "if-modified-since": httpDate(START - 1_000) }));
    expect(older.status).toBe(200);
  });
});

describe("request directives under request_cache_control = honor (RFC 9111 §5.2.1)", () => {
  const honor: CacheSettings = { request_cache_control: "honor" };

  it("answers only-if-cached from a fresh entry", async () => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=60" }), honor);
    const { response, hits } = await twice(site, 10_000, { "cache-control": "only-if-cached" });
    expect(response.status).toBe(200);
    expect(hits).toBe(1);
  });

  it("answers only-if-cached with 504, without the origin, when only a stale entry is stored (§5.2.1.7)", async () => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=60" }), honor);
    const { response, body, hits } = await twice(site, 61_000, { "cache-control": "only-if-cached" });
    expect(response.status).toBe(504);
    expect(JSON.parse(body)).toMatchObject({ error: { code: "not_cached" } });
    expect(hits).toBe(1);
  });

  it("answers only-if-cached with 504 when nothing is stored", async () => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=60" }), honor);
    const response = await site.worker.fetch(get({ "cache-control": "only-if-cached" }));
    expect(response.status).toBe(504);
    expect(await site.origin.hits()).toBe(0);
  });

  it("serves a stale entry for max-stale when the response allows it", async () => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=60" }), honor);
    const { response, hits } = await twice(site, 120_000, { "cache-control": "max-stale=3600" });
    expect(response.status).toBe(200);
    expect(hits).toBe(1);
  });

  it.each([
    ["must-revalidate", "max-age=60, must-revalidate"],
    ["proxy-revalidate", "max-age=60, proxy-revalidate"],
    ["s-maxage", "s-maxage=60"],
    ["no-cache", "no-cache, max-age=60"],
  ])("does not let max-stale override %s (§4.2.4)", async (_directive, cacheControl) => {
    const site = await cachedSite(fixed({ "cache-control": cacheControl, etag: '"v1"' }), honor);
    const { response, hits } = await twice(site, 120_000, { "cache-control": "max-stale=3600" });
    expect(response.status).toBe(200);
    expect(hits).toBe(2);
  });

  it("answers only-if-cached with max-stale on a must-revalidate entry with 504", async () => {
    const site = await cachedSite(fixed({ "cache-control": "max-age=60, must-revalidate" }), honor);
    const { response, hits } = await twice(site, 120_000, { "cache-control": "max-stale, only-if-cached" });
    expect(response.status).toBe(504);
    expect(hits).toBe(1);
  });
});

// The cache end to end: real KV, real Cache API, real origin servers that count requests, and an
// injected clock stepped across freshness boundaries.
import { describe, expect, it } from "vitest";
import { buildCacheKey } from "../../src/cache/cache-key.ts";
import { cachePolicySchema, type OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type EchoBody, type OriginBehavior } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;

/** Each test gets its own cache_version, so tests in this file never see each other's entries. */
async function cachedSite(behavior: OriginBehavior, cache: CacheSettings = {}, envOverrides: Record<string, unknown> = {}) {
  const origin = await createOrigin("origin", behavior);
  const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache }), cache_version: crypto.randomUUID().slice(0, 8) };
  const workerEnv = testEnv({ OUTPOST: config, ...envOverrides });
  return { origin, worker: createTestWorker(workerEnv), workerEnv, config };
}

const get = (path = "/page", headers: Record<string, string> = {}) => new Request(`https://www.example.com${path}`, { headers });
const echo = (cacheControl: string, extra: Record<string, string> = {}): OriginBehavior => ({ kind: "echo", headers: { "cache-control": cacheControl, ...extra } });
const cacheStatus = (response: Response) => response.headers.get("cache-status");

describe("MISS then HIT", () => {
  it("stores a cacheable response and serves it again without the origin", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60"));
    const first = await worker.fetch(get());
    expect(cacheStatus(first)).toBe("Outpost; fwd=miss; fwd-status=200; ttl=60; stored");
    const firstBody = (await first.json()) as EchoBody;

    worker.clock.advance(10_000);
    const second = await worker.fetch(get());
    expect(cacheStatus(second)).toBe("Outpost; hit; ttl=50; detail=colo");
    expect(second.headers.get("age")).toBe("10");
    expect(((await second.json()) as EchoBody).n).toBe(firstBody.n);
    expect(await origin.hits()).toBe(1);
  });

  it("serves from KV when the location tier has lost the entry", async () => {
    // KV takes the first fill here (the default admits it from the second origin request: admission.test.ts).
    const { origin, worker, workerEnv, config } = await cachedSite(echo("max-age=60"), { admission: { kv_after_requests: 1 } });
    await (await worker.fetch(get("/kv-only"))).text();
    // Evict this location's copy, as the Cache API may at any time.
    const key = await buildCacheKey({
      url: new URL("https://www.example.com/kv-only"),
      headers: new Headers(),
      country: undefined,
      routeName: "site",
      cacheVersion: config.cache_version,
      policy: cachePolicySchema.parse({}),
    });
    expect(await caches.default.delete(`https://outpost-cache.internal/${encodeURIComponent(key)}`)).toBe(true);
    const fromKv = await createTestWorker(workerEnv).fetch(get("/kv-only"));
    expect(cacheStatus(fromKv)).toBe("Outpost; hit; ttl=60; detail=kv");
    // ... and the location tier is filled again from KV.
    const fromColo = await createTestWorker(workerEnv).fetch(get("/kv-only"));
    expect(cacheStatus(fromColo)).toBe("Outpost; hit; ttl=60; detail=colo");
    expect(await origin.hits()).toBe(1);
  });

  it("shows the cache key in Cache-Status only when the route exposes it", async () => {
    const { worker } = await cachedSite(echo("max-age=60"), { expose_key: true });
    const response = await worker.fetch(get("/k?b=2&a=1&utm_source=x"));
    expect(cacheStatus(response)).toMatch(/; key="outpost:v2:[^:]+:site\|https:\/\/www\.example\.com\/k\?a=1&b=2"$/);
    const { worker: quiet } = await cachedSite(echo("max-age=60"));
    expect(cacheStatus(await quiet.fetch(get("/k")))).not.toContain("key=");
  });

  it("answers repeat requests from this isolate's hot tier", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60"));
    await (await worker.fetch(get("/hot"))).text();
    const hot = await worker.fetch(get("/hot"));
    expect(cacheStatus(hot)).toBe("Outpost; hit; ttl=60; detail=memory");
    expect(await origin.hits()).toBe(1);
  });

  it("serves HEAD from the stored GET response, without a body", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60"));
    await (await worker.fetch(get())).text();
    const head = await worker.fetch(new Request("https://www.example.com/page", { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(cacheStatus(head)).toContain("hit");
    // The length a GET gets: the kept body's own (the stored fields keep none).
    const getLength = (await (await worker.fetch(get())).arrayBuffer()).byteLength;
    expect(head.headers.get("content-length")).toBe(String(getLength));
    expect(await head.text()).toBe("");
    expect(await origin.hits()).toBe(1);
  });

  it("answers a client's If-None-Match with 304 from the cache", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60", { etag: '"v1"' }));
    await (await worker.fetch(get())).text();
    const conditional = await worker.fetch(get("/page", { "if-none-match": 'W/"v0", "v1"' }));
    expect(conditional.status).toBe(304);
    expect(conditional.headers.get("etag")).toBe('"v1"');
    expect(conditional.headers.get("content-type")).toBeNull();
    expect(await origin.hits()).toBe(1);
  });

  it("keeps separate entries for different query strings, and one for reordered or tracking parameters", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60"));
    for (const path of ["/p?a=1&b=2", "/p?b=2&a=1", "/p?a=1&b=2&utm_source=mail", "/p?a=2&b=2"]) await (await worker.fetch(get(path))).text();
    expect(await origin.hits()).toBe(2);
  });
});

describe("range requests", () => {
  const body = "0123456789abcdefghij";

  it("serves a byte range from the stored full object", async () => {
    const { origin, worker } = await cachedSite({ kind: "fixed", status: 200, headers: { "cache-control": "max-age=60", etag: '"r1"' }, body });
    await (await worker.fetch(get("/file"))).text();
    const partial = await worker.fetch(get("/file", { range: "bytes=5-9" }));
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe("bytes 5-9/20");
    expect(await partial.text()).toBe("56789");
    const unsatisfiable = await worker.fetch(get("/file", { range: "bytes=50-" }));
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get("content-range")).toBe("bytes */20");
    const changed = await worker.fetch(get("/file", { range: "bytes=0-1", "if-range": '"old"' }));
    expect(changed.status).toBe(200);
    expect(await changed.text()).toBe(body);
    expect(await origin.hits()).toBe(1);
  });

  it("fetches the whole object for a range miss, stores it and cuts each range from it", async () => {
    const { origin, worker } = await cachedSite({ kind: "fixed", status: 200, headers: { "cache-control": "max-age=60", "content-length": "20" }, body: "0123456789abcdefghij" });
    const first = await worker.fetch(get("/part", { range: "bytes=0-1" }));
    expect(first.status).toBe(206);
    expect(first.headers.get("content-range")).toBe("bytes 0-1/20");
    expect(cacheStatus(first)).toBe("Outpost; fwd=miss; fwd-status=200; ttl=60; stored");
    expect(await first.text()).toBe("01");
    const second = await worker.fetch(get("/part", { range: "bytes=2-3" }));
    expect(second.status).toBe(206);
    expect(await second.text()).toBe("23");
    expect(await origin.hits()).toBe(1);
    expect((await origin.requests())[0]?.headers.range).toBeUndefined();
  });
});

describe("large objects: streamed from the location tier (tiered-store.ts)", () => {
  // 1.5 MiB, every 16 bytes different: a byte out of place shows.
  const size = 1536 * 1024;
  const body = Array.from({ length: size / 16 }, (_, i) => i.toString(16).padStart(16, "-")).join("");
  const large = (cacheControl = "max-age=60"): OriginBehavior => ({ kind: "fixed", status: 200, headers: { "cache-control": cacheControl, etag: '"big"' }, body });

  it("answers GET, HEAD, ranges and a 304 from a streamed entry", async () => {
    const { origin, worker } = await cachedSite(large());
    expect(await (await worker.fetch(get("/big"))).text()).toBe(body);

    const hit = await worker.fetch(get("/big"));
    expect(cacheStatus(hit)).toBe("Outpost; hit; ttl=60; detail=colo");
    expect(hit.headers.get("etag")).toBe('"big"');
    expect(await hit.text()).toBe(body);

    const head = await worker.fetch(new Request("https://www.example.com/big", { method: "HEAD" }));
    expect(head.headers.get("content-length")).toBe(String(size));
    expect(await head.text()).toBe("");

    const partial = await worker.fetch(get("/big", { range: "bytes=1000000-1000031" }));
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe(`bytes 1000000-1000031/${size}`);
    expect(await partial.text()).toBe(body.slice(1_000_000, 1_000_032));
    const suffix = await worker.fetch(get("/big", { range: "bytes=-20" }));
    expect(suffix.headers.get("content-range")).toBe(`bytes ${size - 20}-${size - 1}/${size}`);
    expect(await suffix.text()).toBe(body.slice(-20));
    expect((await worker.fetch(get("/big", { range: `bytes=${size}-` }))).status).toBe(416);

    const conditional = await worker.fetch(get("/big", { "if-none-match": '"big"' }));
    expect(conditional.status).toBe(304);
    expect(await origin.hits()).toBe(1);
  });

  it("revalidates a stale streamed entry and serves its body with the 304's fields", async () => {
    const { origin, worker } = await cachedSite(large(), { stale_if_error_seconds: 0 });
    await (await worker.fetch(get("/big"))).text();
    await origin.behave({ kind: "fixed", status: 304, headers: { etag: '"big"', "cache-control": "max-age=120", "x-refreshed": "yes" } });
    worker.clock.advance(61_000);
    const revalidated = await worker.fetch(get("/big"));
    expect(cacheStatus(revalidated)).toBe("Outpost; fwd=stale; fwd-status=304; ttl=120; stored");
    expect(revalidated.headers.get("x-refreshed")).toBe("yes");
    expect(await revalidated.text()).toBe(body);
    expect(await origin.hits()).toBe(2);
  });

  it("serves a streamed entry while it refreshes (stale-while-revalidate) and when the origin fails (stale-if-error)", async () => {
    const { origin, worker } = await cachedSite(large("max-age=60, stale-while-revalidate=30, stale-if-error=600"));
    await (await worker.fetch(get("/big"))).text();
    worker.clock.advance(61_000);
    const stale = await worker.fetch(get("/big"));
    expect(cacheStatus(stale)).toBe("Outpost; hit; ttl=-1; detail=colo:stale-while-revalidate");
    expect(await stale.text()).toBe(body);
    expect(await origin.hits()).toBe(2); // the background refresh

    await origin.behave({ kind: "reset" });
    worker.clock.advance(100_000);
    const rescued = await worker.fetch(get("/big"));
    expect(cacheStatus(rescued)).toContain("detail=stale-if-error");
    expect(await rescued.text()).toBe(body);
  });
});

describe("large objects: a stale streamed entry", () => {
  const size = 1536 * 1024;
  const body = "a".repeat(size);
  const newBody = "b".repeat(size);

  it("is let go when the origin sends a new version, which replaces it", async () => {
    const { origin, worker } = await cachedSite({ kind: "fixed", status: 200, headers: { "cache-control": "max-age=60" }, body });
    await (await worker.fetch(get("/big"))).text();
    await origin.behave({ kind: "fixed", status: 200, headers: { "cache-control": "max-age=60" }, body: newBody });
    worker.clock.advance(61_000);
    const fresh = await worker.fetch(get("/big"));
    expect(cacheStatus(fresh)).toBe("Outpost; fwd=stale; fwd-status=200; ttl=60; stored");
    expect(await fresh.text()).toBe(newBody);
    const hit = await worker.fetch(get("/big"));
    expect(cacheStatus(hit)).toBe("Outpost; hit; ttl=60; detail=colo");
    expect(await hit.text()).toBe(newBody);
    expect(await origin.hits()).toBe(2);
  });

  it("is served whole when the origin answers 5xx (stale-if-error)", async () => {
    const { origin, worker } = await cachedSite({ kind: "fixed", status: 200, headers: { "cache-control": "max-age=60, stale-if-error=600" }, body });
    await (await worker.fetch(get("/big"))).text();
    await origin.behave({ kind: "fixed", status: 503, body: "down" });
    worker.clock.advance(61_000);
    const rescued = await worker.fetch(get("/big"));
    expect(cacheStatus(rescued)).toBe("Outpost; fwd=stale; fwd-status=503; ttl=-1; detail=stale-if-error");
    expect(await rescued.text()).toBe(body);
    expect(await origin.hits()).toBe(2);
  });
});

describe("what is never stored", () => {
  it.each([
    ["Set-Cookie", echo("max-age=60", { "set-cookie": "session=abc" }), {}],
    ["private", echo("private, max-age=60"), {}],
    ["no-store", echo("no-store"), {}],
    ["an answer to an Authorization request", echo("max-age=60"), { authorization: "Bearer secret" }],
  ])("does not store a response with %s", async (_case, behavior, headers) => {
    const { origin, worker } = await cachedSite(behavior);
    const first = await worker.fetch(get("/account", headers));
    expect(cacheStatus(first)).not.toContain("stored");
    await first.text();
    await (await worker.fetch(get("/account", headers))).text();
    expect(await origin.hits()).toBe(2);
  });

  it("skips the storage tiers for a while for a URL whose answer could not be stored", async () => {
    const { origin, worker } = await cachedSite(echo("no-store"));
    expect(cacheStatus(await worker.fetch(get("/live")))).toBe("Outpost; fwd=miss; fwd-status=200; detail=no-store");
    expect(cacheStatus(await worker.fetch(get("/live")))).toBe("Outpost; fwd=bypass; fwd-status=200; detail=recently-uncacheable:no-store");
    await origin.behave(echo("max-age=60"));
    expect(cacheStatus(await worker.fetch(get("/live")))).toBe("Outpost; fwd=bypass; fwd-status=200; ttl=60; stored");
    expect(cacheStatus(await worker.fetch(get("/live")))).toContain("hit");
    worker.clock.advance(30_000);
    expect(await origin.hits()).toBe(3);
  });

  it("stores a Set-Cookie response without the cookie when the route strips it", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60", { "set-cookie": "tracking=1" }), { strip_set_cookie: true });
    const first = await worker.fetch(get());
    expect(first.headers.get("set-cookie")).toBe("tracking=1");
    await first.text();
    const second = await worker.fetch(get());
    expect(cacheStatus(second)).toContain("hit");
    expect(second.headers.get("set-cookie")).toBeNull();
    expect(await origin.hits()).toBe(1);
  });

  it("bypasses the cache for requests with a configured cookie", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60"), { bypass_cookies: ["session"] });
    await (await worker.fetch(get())).text();
    const loggedIn = await worker.fetch(get("/page", { cookie: "theme=dark; session=xyz" }));
    expect(cacheStatus(loggedIn)).toBe("Outpost; fwd=bypass; detail=cookie");
    expect(await origin.hits()).toBe(2);
  });

  it("streams objects larger than max_object_bytes through uncached, and says why", async () => {
    const { origin, worker } = await cachedSite({ kind: "fixed", status: 200, headers: { "cache-control": "max-age=60", "content-length": "2000" }, body: "x".repeat(2000) }, { max_object_bytes: 1000 });
    const first = await worker.fetch(get());
    expect(cacheStatus(first)).toBe("Outpost; fwd=miss; fwd-status=200; detail=too-large");
    expect((await first.text()).length).toBe(2000);
    await (await worker.fetch(get())).text();
    expect(await origin.hits()).toBe(2);
  });

  it("does not claim to store an object larger than the hot tier takes when that is the only tier", async () => {
    const size = 300 * 1024;
    const origin = await createOrigin("origin", { kind: "fixed", status: 200, headers: { "cache-control": "max-age=60", "content-length": String(size) }, body: "x".repeat(size) });
    const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }]), cache_version: crypto.randomUUID().slice(0, 8), cache_tiers: ["memory" as const] };
    const worker = createTestWorker(testEnv({ OUTPOST: config }));
    const first = await worker.fetch(get());
    expect(cacheStatus(first)).toBe("Outpost; fwd=miss; fwd-status=200; detail=too-large");
    expect((await first.text()).length).toBe(size);
  });
});

describe("stale-while-revalidate", () => {
  it("serves the stale entry at once and refreshes it with exactly one background fetch", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60, stale-while-revalidate=30"));
    await (await worker.fetch(get())).text();
    worker.clock.advance(60_000);

    const stale = await worker.fetch(get()); // the helper waits for waitUntil: the refresh is done
    expect(cacheStatus(stale)).toBe("Outpost; hit; ttl=0; detail=colo:stale-while-revalidate");
    expect(((await stale.json()) as EchoBody).n).toBe(1);
    expect(await origin.hits()).toBe(2);

    const fresh = await worker.fetch(get());
    expect(cacheStatus(fresh)).toContain("Outpost; hit");
    expect(((await fresh.json()) as EchoBody).n).toBe(2);
    expect(await origin.hits()).toBe(2);
  });

  it("refreshes an entry that is stale again at once (max-age=0) at most once per second", async () => {
    // With an ETag the entry is kept for revalidation; every refresh leaves it stale again.
    const { origin, worker } = await cachedSite(echo("max-age=0, stale-while-revalidate=3600", { etag: '"v1"' }));
    await (await worker.fetch(get())).text();
    for (let i = 0; i < 3; i++) {
      const stale = await worker.fetch(get());
      expect(cacheStatus(stale)).toContain("stale-while-revalidate");
      await stale.text();
    }
    expect(await origin.hits()).toBe(2); // the fill and one refresh
    worker.clock.advance(999);
    await (await worker.fetch(get())).text();
    expect(await origin.hits()).toBe(2);
    worker.clock.advance(1);
    await (await worker.fetch(get())).text();
    expect(await origin.hits()).toBe(3);
  });

  it("goes to the origin once the window has passed", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60, stale-while-revalidate=30"));
    await (await worker.fetch(get())).text();
    worker.clock.advance(90_000);
    const response = await worker.fetch(get());
    expect(cacheStatus(response)).toBe("Outpost; fwd=stale; fwd-status=200; ttl=60; stored");
    expect(await origin.hits()).toBe(2);
  });
});

describe("stale-if-error", () => {
  it("serves the stale entry when the origin is down", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60, stale-if-error=600"));
    await (await worker.fetch(get())).text();
    await origin.stop();
    worker.clock.advance(120_000);
    const response = await worker.fetch(get());
    expect(response.status).toBe(200);
    expect(cacheStatus(response)).toBe("Outpost; fwd=stale; ttl=-60; detail=stale-if-error");
    expect(((await response.json()) as EchoBody).n).toBe(1);
  });

  it("serves the stale entry when the origin answers 5xx", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60"), { stale_if_error_seconds: 300 });
    await (await worker.fetch(get())).text();
    await origin.behave({ kind: "fixed", status: 503, body: "down" });
    worker.clock.advance(61_000);
    const response = await worker.fetch(get());
    expect(response.status).toBe(200);
    expect(cacheStatus(response)).toBe("Outpost; fwd=stale; fwd-status=503; ttl=-1; detail=stale-if-error");
  });

  it("never serves stale beyond the route's max_stale_if_error_seconds, whatever the origin allows", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60, stale-if-error=86400"), { max_stale_if_error_seconds: 120 });
    await (await worker.fetch(get())).text();
    await origin.stop();
    worker.clock.advance(60_000 + 119_999);
    expect((await worker.fetch(get())).status).toBe(200);
    worker.clock.advance(1);
    expect((await worker.fetch(get())).status).toBe(502);
  });

  it("gives the error once the stale-if-error window has passed", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60, stale-if-error=10"));
    await (await worker.fetch(get())).text();
    await origin.stop();
    worker.clock.advance(70_000);
    const response = await worker.fetch(get());
    expect(response.status).toBe(502);
  });
});

describe("revalidation with the origin (RFC 9111 §4.3)", () => {
  it("revalidates a stale entry with its ETag and refreshes it from the 304", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60", { etag: '"v1"' }), { stale_if_error_seconds: 0 });
    const first = (await (await worker.fetch(get())).json()) as EchoBody;
    await origin.behave({ kind: "fixed", status: 304, headers: { etag: '"v1"', "cache-control": "max-age=120", "x-refreshed": "yes" } });
    worker.clock.advance(61_000);

    const revalidated = await worker.fetch(get());
    expect(revalidated.status).toBe(200);
    expect(cacheStatus(revalidated)).toBe("Outpost; fwd=stale; fwd-status=304; ttl=120; stored");
    expect(revalidated.headers.get("x-refreshed")).toBe("yes");
    expect(((await revalidated.json()) as EchoBody).n).toBe(first.n);
    const conditional = (await origin.requests())[1];
    expect(conditional?.headers["if-none-match"]).toBe('"v1"');

    worker.clock.advance(100_000);
    const hit = await worker.fetch(get());
    expect(cacheStatus(hit)).toBe("Outpost; hit; ttl=20; detail=colo");
    expect(await origin.hits()).toBe(2);
  });

  it("revalidates with Last-Modified when there is no ETag", async () => {
    const lastModified = new Date(Date.UTC(2026, 0, 1)).toUTCString();
    const { origin, worker } = await cachedSite(echo("max-age=10", { "last-modified": lastModified }));
    await (await worker.fetch(get())).text();
    // The 304 names the validator it vouches for (RFC 9111 §4.3.4; not-modified.test.ts has the rest).
    await origin.behave({ kind: "fixed", status: 304, headers: { "cache-control": "max-age=10", "last-modified": lastModified } });
    worker.clock.advance(11_000);
    expect((await worker.fetch(get())).status).toBe(200);
    expect((await origin.requests())[1]?.headers["if-modified-since"]).toBe(lastModified);
  });

  it("stores a no-cache response with a validator and revalidates it on every request", async () => {
    const { origin, worker } = await cachedSite(echo("no-cache", { etag: '"a"' }));
    const first = await worker.fetch(get());
    expect(cacheStatus(first)).toContain("stored");
    await first.text();
    await origin.behave({ kind: "fixed", status: 304, headers: { etag: '"a"', "cache-control": "no-cache" } });
    for (let i = 0; i < 2; i += 1) {
      const response = await worker.fetch(get());
      expect(cacheStatus(response)).toContain("fwd-status=304");
      expect(((await response.json()) as EchoBody).n).toBe(1);
    }
    expect((await origin.requests()).slice(1).map((r) => r.headers["if-none-match"])).toEqual(['"a"', '"a"']);
  });

  it("replaces the entry when the origin answers 200 to the revalidation", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60", { etag: '"v1"' }), { stale_if_error_seconds: 0 });
    await (await worker.fetch(get())).text();
    worker.clock.advance(61_000);
    const changed = await worker.fetch(get());
    expect(cacheStatus(changed)).toBe("Outpost; fwd=stale; fwd-status=200; ttl=60; stored");
    expect(((await changed.json()) as EchoBody).n).toBe(2);
    expect((await origin.requests())[1]?.headers["if-none-match"]).toBe('"v1"');
  });
});

describe("request collapsing", () => {
  it("sends concurrent misses for one key to the origin once", async () => {
    const { origin, worker } = await cachedSite({
      kind: "slow",
      delayMs: 100,
      then: { kind: "fixed", status: 200, headers: { "cache-control": "max-age=60" }, body: "shared body" },
    });
    const responses = await Promise.all(Array.from({ length: 10 }, () => worker.fetch(get("/hot"))));
    const statuses = responses.map(cacheStatus);
    expect(await Promise.all(responses.map((r) => r.text()))).toEqual(Array(10).fill("shared body"));
    expect(await origin.hits()).toBe(1);
    expect(statuses.filter((s) => s?.includes("collapsed")).length + statuses.filter((s) => s?.includes("hit")).length).toBe(9);
  });

  it("lets waiters fetch for themselves when the response is not cacheable", async () => {
    const { origin, worker } = await cachedSite(echo("no-store"));
    const responses = await Promise.all(Array.from({ length: 3 }, () => worker.fetch(get("/private"))));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await origin.hits()).toBe(3);
  });
});

describe("Vary", () => {
  it("stores one variant per Accept-Language and serves each its own", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60", { vary: "Accept-Language" }));
    const en1 = (await (await worker.fetch(get("/v", { "accept-language": "en" }))).json()) as EchoBody;
    const fr1 = (await (await worker.fetch(get("/v", { "accept-language": "fr" }))).json()) as EchoBody;
    const en2 = await worker.fetch(get("/v", { "accept-language": " en " }));
    const fr2 = await worker.fetch(get("/v", { "accept-language": "fr" }));
    expect(cacheStatus(en2)).toContain("hit");
    expect(((await en2.json()) as EchoBody).n).toBe(en1.n);
    expect(((await fr2.json()) as EchoBody).n).toBe(fr1.n);
    expect(await origin.hits()).toBe(2);
  });

  it("reports a vary-miss for a new variant", async () => {
    const { worker } = await cachedSite(echo("max-age=60", { vary: "Accept-Language" }));
    await (await worker.fetch(get("/v", { "accept-language": "en" }))).text();
    const de = await worker.fetch(get("/v", { "accept-language": "de" }));
    expect(cacheStatus(de)).toMatch(/^Outpost; fwd=vary-miss/);
  });
});

describe("invalidation (RFC 9111 §4.4)", () => {
  // More in invalidation.test.ts.
  it("marks the stored response stale after a successful POST to the same URL", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60"));
    await (await worker.fetch(get("/doc"))).text();
    const post = await worker.fetch(new Request("https://www.example.com/doc", { method: "POST", body: "edit" }));
    expect(cacheStatus(post)).toBe("Outpost; fwd=method");
    const after = await worker.fetch(get("/doc"));
    expect(cacheStatus(after)).toContain("fwd=stale");
    expect(await origin.hits()).toBe(3);
  });
});

describe("cache poisoning through unkeyed headers", () => {
  it.each(["x-original-url", "x-rewrite-url", "x-http-method-override", "x-http-method", "x-method-override"])(
    "does not forward %s on a cache fill, so it cannot change what others receive",
    async (name) => {
      const { origin, worker } = await cachedSite(echo("max-age=60"));
      const attack = await worker.fetch(get("/home", { [name]: name.includes("method") ? "DELETE" : "/admin" }));
      expect(((await attack.json()) as EchoBody).headers[name]).toBeUndefined();
      const victim = await worker.fetch(get("/home"));
      expect(cacheStatus(victim)).toContain("hit");
      expect((await origin.requests())[0]?.headers[name]).toBeUndefined();
    },
  );
});

describe("degraded storage", () => {
  it("serves from the origin when KV throws on every call", async () => {
    // KV outages cannot be produced by the local KV: this binding is a stand-in that throws.
    const failingKv = {
      get: () => Promise.reject(new Error("KV GET failed")),
      put: () => Promise.reject(new Error("KV PUT failed: 429")),
      delete: () => Promise.reject(new Error("KV DELETE failed")),
    } as unknown as KVNamespace;
    const { origin, worker } = await cachedSite(echo("max-age=60"), {}, { OUTPOST_CACHE: failingKv });
    const responses = [await worker.fetch(get("/degraded")), await worker.fetch(get("/degraded"))];
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(await origin.hits()).toBeGreaterThanOrEqual(1);
  });
});

describe("request directives", () => {
  it("ignores a visitor's no-cache by default", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60"));
    await (await worker.fetch(get())).text();
    await (await worker.fetch(get("/page", { "cache-control": "no-cache" }))).text();
    expect(await origin.hits()).toBe(1);
  });

  it("honours them when the route says so, including only-if-cached", async () => {
    const { origin, worker } = await cachedSite(echo("max-age=60"), { request_cache_control: "honor" });
    const notCached = await worker.fetch(get("/page", { "cache-control": "only-if-cached" }));
    expect(notCached.status).toBe(504);
    await (await worker.fetch(get())).text();
    const forced = await worker.fetch(get("/page", { "cache-control": "no-cache" }));
    expect(cacheStatus(forced)).toContain("fwd=request");
    expect(await origin.hits()).toBe(2);
  });
});

// Invalidation after unsafe requests (RFC 9111 §4.4) end to end: a successful POST/PUT/DELETE marks
// its URL stale in this isolate (never deletes: no KV delete, the copy stale-if-error needs is kept);
// Location / Content-Location mark their URL only when the route opts in, only on the same host,
// under the route that URL matches, and throttled. Real KV (counted), real origins that count requests.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildCacheKey } from "../../src/cache/cache-key.ts";
import { RELATED_INVALIDATION_WINDOW_MS, RELATED_INVALIDATIONS_PER_WINDOW } from "../../src/cache/soft-invalidations.ts";
import { cachePolicySchema, type OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type EchoBody, type OriginBehavior } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

type RouteSettings = Partial<OutpostConfigInput["routes"][number]>;

/** The test's KV, with the entry deletes and writes it receives counted. */
function countingKv() {
  const kv = (env as unknown as { OUTPOST_CACHE: KVNamespace }).OUTPOST_CACHE;
  const calls = { deletes: 0, entryPuts: 0 };
  const counted = new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (property === "delete") calls.deletes += 1;
        if (property === "put" && String(args[0]).startsWith("outpost:v2:")) calls.entryPuts += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kv, counted, calls };
}

/**
 * One catch-all route "site" over one origin. KV admits a key from its first fill here
 * (`kv_after_requests: 1`; the default waits for the second): these tests check that KV keeps it.
 */
async function site(behavior: OriginBehavior) {
  const origin = await createOrigin("origin", behavior);
  const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache: { admission: { kv_after_requests: 1 } } }), cache_version: crypto.randomUUID().slice(0, 8) };
  const kv = countingKv();
  return { origin, kv, config, worker: createTestWorker(testEnv({ OUTPOST: config, OUTPOST_CACHE: kv.counted })) };
}

/** Route "writes" (/api/*) over its own origin, route "pages" (everything else) over another. */
async function twoRoutes(writes: OriginBehavior, writeRoute: RouteSettings = {}) {
  const pages = await createOrigin("pages", echo("max-age=600"));
  const api = await createOrigin("api", writes);
  const config: OutpostConfigInput = {
    pools: [
      { name: "pages", origins: [{ name: "pages", address: pages.url }] },
      { name: "api", origins: [{ name: "api", address: api.url }] },
    ],
    routes: [
      { name: "writes", hosts: ["*"], path: "/api/*", default_pools: ["api"], ...writeRoute },
      { name: "pages", hosts: ["*"], path: "/*", default_pools: ["pages"] },
    ],
    cache_version: crypto.randomUUID().slice(0, 8),
  };
  const kv = countingKv();
  return { pages, api, kv, worker: createTestWorker(testEnv({ OUTPOST: config, OUTPOST_CACHE: kv.counted })) };
}

const echo = (cacheControl: string): OriginBehavior => ({ kind: "echo", headers: { "cache-control": cacheControl } });
const get = (path: string) => new Request(`https://www.example.com${path}`);
const send = (method: string, path: string) => new Request(`https://www.example.com${path}`, { method, body: "x" });
const cacheStatus = (response: Response) => response.headers.get("cache-status") ?? "";
const entryKey = (path: string, routeName: string, cacheVersion: string) =>
  buildCacheKey({ url: new URL(`https://www.example.com${path}`), headers: new Headers(), country: undefined, routeName, cacheVersion, policy: cachePolicySchema.parse({}) });

async function statusOf(worker: ReturnType<typeof createTestWorker>, path: string) {
  const response = await worker.fetch(get(path));
  await response.text();
  return cacheStatus(response);
}

describe("the target URI of a successful unsafe request (RFC 9111 §4.4)", () => {
  it("is marked stale, not deleted: KV keeps the entry and the next GET revalidates", async () => {
    const { origin, kv, config, worker } = await site(echo("max-age=600"));
    await (await worker.fetch(get("/doc"))).text();
    const post = await worker.fetch(send("POST", "/doc"));
    expect(cacheStatus(post)).toBe("Outpost; fwd=method");
    expect(kv.calls.deletes).toBe(0);
    expect(await kv.kv.get(await entryKey("/doc", "site", config.cache_version))).not.toBeNull();

    worker.clock.advance(1);
    const after = await worker.fetch(get("/doc"));
    expect(cacheStatus(after)).toContain("fwd=stale");
    expect(((await after.json()) as EchoBody).n).toBe(3);
    expect(await origin.hits()).toBe(3);
    // The revalidated answer is stored again and served from then on.
    worker.clock.advance(1);
    expect(await statusOf(worker, "/doc")).toContain("hit");
    expect(await origin.hits()).toBe(3);
  });

  it("keeps the copy stale-if-error needs: after a POST and an origin outage the old page is served", async () => {
    const { origin, worker } = await site(echo("max-age=600"));
    await (await worker.fetch(get("/doc"))).text();
    await (await worker.fetch(send("PUT", "/doc"))).text();
    await origin.stop();
    worker.clock.advance(1);
    const during = await worker.fetch(get("/doc"));
    expect(during.status).toBe(200);
    expect(cacheStatus(during)).toContain("detail=stale-if-error");
    expect(((await during.json()) as EchoBody).n).toBe(1);
  });

  it("is revalidated before it is served again, even within stale-while-revalidate", async () => {
    const { origin, worker } = await site(echo("max-age=600, stale-while-revalidate=600"));
    await (await worker.fetch(get("/doc"))).text();
    await (await worker.fetch(send("DELETE", "/doc"))).text();
    worker.clock.advance(1);
    const after = await worker.fetch(get("/doc"));
    expect(cacheStatus(after)).not.toContain("hit");
    expect(((await after.json()) as EchoBody).n).toBe(3);
    expect(await origin.hits()).toBe(3);
  });

  it("stays fresh when the unsafe request failed (4xx/5xx are not invalidating)", async () => {
    const origin = await createOrigin("origin", { kind: "sequence", steps: [echo("max-age=600"), { kind: "fixed", status: 403 }] });
    const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }]), cache_version: crypto.randomUUID().slice(0, 8) };
    const worker = createTestWorker(testEnv({ OUTPOST: config }));
    await (await worker.fetch(get("/doc"))).text();
    expect((await worker.fetch(send("POST", "/doc"))).status).toBe(403);
    worker.clock.advance(1);
    expect(await statusOf(worker, "/doc")).toContain("hit");
  });
});

describe("Location and Content-Location (RFC 9111 §4.4)", () => {
  it("do not evict: 20 POSTs answered 302 Location: /home leave /home cached, with no KV delete (off by default)", async () => {
    const posts = Array.from({ length: 20 }, (): OriginBehavior => ({ kind: "fixed", status: 302, headers: { location: "/home" } }));
    const { origin, kv, config, worker } = await site({ kind: "sequence", steps: [echo("max-age=600"), ...posts, echo("max-age=600")] });
    await (await worker.fetch(get("/home"))).text();
    for (let index = 0; index < 20; index += 1) expect((await worker.fetch(send("POST", "/login"))).status).toBe(302);
    worker.clock.advance(1);
    expect(await statusOf(worker, "/home")).toContain("hit");
    expect(await origin.hits()).toBe(21);
    expect(kv.calls.deletes).toBe(0);
    expect(await kv.kv.get(await entryKey("/home", "site", config.cache_version))).not.toBeNull();
  });

  it("mark the URL stale under the route that URL matches, when the unsafe request's route opts in", async () => {
    // PUT /api/doc/1 (route "writes", caching off) names /doc/1 (route "pages").
    const { pages, kv, worker } = await twoRoutes({ kind: "fixed", status: 201, headers: { "content-location": "/doc/1" } }, { cache: { enabled: false, invalidate_location_headers: true } });
    await (await worker.fetch(get("/doc/1"))).text();
    expect((await worker.fetch(send("PUT", "/api/doc/1"))).status).toBe(201);
    worker.clock.advance(1);
    expect(await statusOf(worker, "/doc/1")).toContain("fwd=stale");
    expect(await pages.hits()).toBe(2);
    expect(kv.calls.deletes).toBe(0);
  });

  it("are ignored when the route does not opt in", async () => {
    const { pages, worker } = await twoRoutes({ kind: "fixed", status: 201, headers: { "content-location": "/doc/1" } }, { cache: { enabled: false } });
    await (await worker.fetch(get("/doc/1"))).text();
    await (await worker.fetch(send("PUT", "/api/doc/1"))).text();
    worker.clock.advance(1);
    expect(await statusOf(worker, "/doc/1")).toContain("hit");
    expect(await pages.hits()).toBe(1);
  });

  it("invalidate only on the same host (a trailing dot or other case is the same host)", async () => {
    const steps: OriginBehavior[] = [
      { kind: "fixed", status: 302, headers: { location: "https://other.example.com/doc/1" } },
      { kind: "fixed", status: 302, headers: { location: "https://WWW.EXAMPLE.COM./doc/1" } },
    ];
    const { worker } = await twoRoutes({ kind: "sequence", steps }, { cache: { invalidate_location_headers: true } });
    const other = async () => {
      const response = await worker.fetch(new Request("https://other.example.com/doc/1"));
      await response.text();
      return cacheStatus(response);
    };
    await (await worker.fetch(get("/doc/1"))).text();
    await other();
    await (await worker.fetch(send("POST", "/api/x"))).text();
    worker.clock.advance(1);
    expect(await other()).toContain("hit");
    expect(await statusOf(worker, "/doc/1")).toContain("hit");
    await (await worker.fetch(send("POST", "/api/x"))).text();
    worker.clock.advance(1);
    expect(await statusOf(worker, "/doc/1")).toContain("fwd=stale");
  });

  it(`are throttled: ${RELATED_INVALIDATIONS_PER_WINDOW} per isolate per ${RELATED_INVALIDATION_WINDOW_MS / 1000} s on the injected clock`, async () => {
    const count = RELATED_INVALIDATIONS_PER_WINDOW + 2;
    const steps = Array.from({ length: count }, (_, index): OriginBehavior => ({ kind: "fixed", status: 303, headers: { location: `/p/${index + 1}` } }));
    const { worker } = await twoRoutes({ kind: "sequence", steps }, { cache: { enabled: false, invalidate_location_headers: true } });
    for (let index = 1; index <= count; index += 1) await (await worker.fetch(get(`/p/${index}`))).text();
    for (let index = 1; index <= count; index += 1) await (await worker.fetch(send("POST", "/api/x"))).text();
    worker.clock.advance(1);
    expect(await statusOf(worker, `/p/${RELATED_INVALIDATIONS_PER_WINDOW}`)).toContain("fwd=stale");
    expect(await statusOf(worker, `/p/${RELATED_INVALIDATIONS_PER_WINDOW + 1}`)).toContain("hit");
    expect(await statusOf(worker, `/p/${count}`)).toContain("hit");
    // The window opened with the first POST, 1 ms ago: still closed 1 ms before it ends ...
    worker.clock.advance(RELATED_INVALIDATION_WINDOW_MS - 2);
    await (await worker.fetch(send("POST", "/api/x"))).text(); // the sequence's last step: Location /p/<count>
    expect(await statusOf(worker, `/p/${count}`)).toContain("hit");
    // ... and open again when it ends.
    worker.clock.advance(1);
    await (await worker.fetch(send("POST", "/api/x"))).text();
    worker.clock.advance(1);
    expect(await statusOf(worker, `/p/${count}`)).toContain("fwd=stale");
  });
});

describe("explain", () => {
  it("reports an invalidated entry as stale, with when it was invalidated", async () => {
    const origin = await createOrigin("origin", echo("max-age=600"));
    const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }]), cache_version: crypto.randomUUID().slice(0, 8) };
    const worker = createTestWorker(testEnv({ OUTPOST: config, OUTPOST_ADMIN_TOKEN: "token-for-invalidation-tests-0123" }));
    await (await worker.fetch(get("/doc?utm_source=x"))).text();
    worker.clock.advance(1_000);
    await (await worker.fetch(send("POST", "/doc"))).text();
    const explain = await worker.fetch(
      new Request(`https://www.example.com/__outpost/explain?url=${encodeURIComponent("https://www.example.com/doc")}`, { headers: { authorization: "Bearer token-for-invalidation-tests-0123" } }),
    );
    const trace = (await explain.json()) as { cache: { tiers: Array<{ tier: string; state: string; invalidated_at?: string }>; cache_status: string } };
    expect(trace.cache.tiers.find((tier) => tier.tier === "colo")).toMatchObject({ state: "stale", invalidated_at: new Date(worker.clock.now()).toISOString() });
    expect(trace.cache.cache_status).toBe("Outpost; fwd=stale");
    expect(await origin.hits()).toBe(2);
  });
});

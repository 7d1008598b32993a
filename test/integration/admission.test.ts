// Storage admission end to end (cache/admission.ts): what a fill writes to the Cache API and to KV,
// by origin requests for the key in this isolate and the route's KV write budget.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;
const kv = (env as unknown as { OUTPOST_CACHE: KVNamespace }).OUTPOST_CACHE;
const cacheStatus = (response: Response) => response.headers.get("cache-status");
const get = (path: string) => new Request(`https://www.example.com${path}`);

/** Each test has its own cache_version, so its KV keys are its own. */
async function site(cache: CacheSettings = {}, tiers: OutpostConfigInput["cache_tiers"] = ["memory", "colo", "kv"]) {
  const origin = await createOrigin("origin", { kind: "echo", headers: { "cache-control": "max-age=60" } });
  const cacheVersion = crypto.randomUUID().slice(0, 8);
  const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache }), cache_version: cacheVersion, cache_tiers: tiers };
  const workerEnv = testEnv({ OUTPOST: config });
  const kvKeys = async () => (await kv.list({ prefix: `outpost:v2:${cacheVersion}:` })).keys.map((key) => key.name);
  return { origin, workerEnv, worker: createTestWorker(workerEnv), kvKeys };
}

async function fetchText(worker: ReturnType<typeof createTestWorker>, path: string) {
  const response = await worker.fetch(get(path));
  await response.text();
  return cacheStatus(response);
}

describe("storage admission (defaults)", () => {
  it("writes KV on a key's second origin request, not its first", async () => {
    const { origin, worker, workerEnv, kvKeys } = await site({}, ["memory", "kv"]);
    expect(await fetchText(worker, "/twice")).toBe("Outpost; fwd=miss; fwd-status=200; ttl=60; stored");
    expect(await kvKeys()).toEqual([]);
    expect(await fetchText(worker, "/twice")).toBe("Outpost; hit; ttl=60; detail=memory"); // the hot tier took it
    worker.clock.advance(10_000); // the hot tier's lifetime
    expect(await fetchText(worker, "/twice")).toBe("Outpost; fwd=miss; fwd-status=200; ttl=60; stored");
    expect(await kvKeys()).toHaveLength(1);
    // Another isolate finds it in KV.
    expect(await fetchText(createTestWorker(workerEnv, { clock: worker.clock }), "/twice")).toBe("Outpost; hit; ttl=60; detail=kv");
    expect(await origin.hits()).toBe(2);
  });

  it("writes KV on a second origin request in the same second: the refused first write does not count against KV's one write per second per key", async () => {
    const { worker, kvKeys } = await site({}, ["kv"]);
    expect(await fetchText(worker, "/same-second")).toBe("Outpost; fwd=miss; fwd-status=200; ttl=60; stored");
    expect(await kvKeys()).toEqual([]);
    await fetchText(worker, "/same-second");
    expect(await kvKeys()).toHaveLength(1);
  });

  it("writes no KV entry for cache-busting query strings, each fetched once; the location tier still takes them", async () => {
    const { worker, kvKeys } = await site();
    for (let index = 0; index < 20; index += 1) await fetchText(worker, `/busted?v=${index}`);
    expect(await kvKeys()).toEqual([]);
    worker.clock.advance(10_000);
    expect(await fetchText(worker, "/busted?v=3")).toBe("Outpost; hit; ttl=50; detail=colo");
  });

  it("writes KV when a copy found in the location tier is refreshed", async () => {
    const { origin, worker, kvKeys } = await site();
    await fetchText(worker, "/refreshed");
    expect(await kvKeys()).toEqual([]);
    worker.clock.advance(61_000); // stale in the location tier
    expect(await fetchText(worker, "/refreshed")).toBe("Outpost; fwd=stale; fwd-status=200; ttl=60; stored");
    expect(await kvKeys()).toHaveLength(1);
    expect(await origin.hits()).toBe(2);
  });
});

describe("storage admission (route settings)", () => {
  it("writes KV on the first fill with kv_after_requests = 1", async () => {
    const { worker, kvKeys } = await site({ admission: { kv_after_requests: 1 } });
    await fetchText(worker, "/once");
    expect(await kvKeys()).toHaveLength(1);
  });

  it("keeps the location tier for a key's second origin request with colo_after_requests = 2", async () => {
    const { worker } = await site({ admission: { colo_after_requests: 2 } }, ["memory", "colo"]);
    await fetchText(worker, "/colo-twice");
    worker.clock.advance(10_000);
    expect(await fetchText(worker, "/colo-twice")).toBe("Outpost; fwd=miss; fwd-status=200; ttl=60; stored"); // not in the location tier
    worker.clock.advance(10_000);
    expect(await fetchText(worker, "/colo-twice")).toBe("Outpost; hit; ttl=50; detail=colo");
  });

  it("counts origin requests within window_seconds only", async () => {
    const { worker, kvKeys } = await site({ admission: { window_seconds: 15 } }, ["memory", "kv"]);
    await fetchText(worker, "/windowed");
    worker.clock.advance(15_000); // the hot copy has expired, and the window with it
    await fetchText(worker, "/windowed");
    expect(await kvKeys()).toEqual([]);
    worker.clock.advance(10_000);
    await fetchText(worker, "/windowed");
    expect(await kvKeys()).toHaveLength(1);
  });

  it("stops writing KV past kv_writes_per_minute in this isolate, and writes again as the budget refills", async () => {
    const { worker, kvKeys } = await site({ admission: { kv_after_requests: 1, kv_writes_per_minute: 2 } });
    for (const path of ["/w1", "/w2", "/w3"]) await fetchText(worker, path);
    expect(await kvKeys()).toHaveLength(2);
    worker.clock.advance(30_000); // one more write
    await fetchText(worker, "/w4");
    await fetchText(worker, "/w5");
    expect(await kvKeys()).toHaveLength(3);
  });
});

// Purge end to end: the admin API records a purge in the ledger; the next read of a covered entry
// misses (hard) or revalidates (soft), in this isolate at once and in another isolate of the same
// location through the location's copy of the ledger. Real KV, Cache API and counting origins.
import { describe, expect, it } from "vitest";
import { encodeRecord, type ResponseEntryMeta } from "../../src/cache/entry.ts";
import { buildCacheKey } from "../../src/cache/cache-key.ts";
import { ledgerCacheUrl } from "../../src/purge/purge-state.ts";
import { cachePolicySchema, type OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type EchoBody, type OriginBehavior } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

const TOKEN = "test-admin-token-0123456789";
type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;

async function purgeableSite(behavior: OriginBehavior = { kind: "echo", headers: { "cache-control": "max-age=600" } }, cache: CacheSettings = {}) {
  const origin = await createOrigin("origin", behavior);
  const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache }), cache_version: crypto.randomUUID().slice(0, 8) };
  const workerEnv = testEnv({ OUTPOST: config, OUTPOST_ADMIN_TOKEN: TOKEN });
  const worker = createTestWorker(workerEnv);
  return { origin, worker, workerEnv, config };
}

type Worker = ReturnType<typeof createTestWorker>;

async function fetchBody(worker: Worker, url: string, headers: Record<string, string> = {}) {
  const response = await worker.fetch(new Request(url, { headers }));
  return { status: response.headers.get("cache-status") ?? "", n: ((await response.json()) as EchoBody).n };
}

async function purge(worker: Worker, body: unknown) {
  const response = await worker.fetch(
    new Request("https://www.example.com/__outpost/purge", { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) }),
  );
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** Warms every URL, steps the clock past the store time, and returns a way to check each again. */
async function warm(worker: Worker, urls: string[]) {
  for (const url of urls) expect((await fetchBody(worker, url)).status).toContain("stored");
  worker.clock.advance(1_000);
}

const isHit = (status: string) => status.startsWith("Outpost; hit");

describe("purge by each kind", () => {
  const a = "https://shop.example.com/products/1";
  const b = "https://shop.example.com/products/2?color=red";
  const c = "https://shop.example.com/about";
  const d = "https://blog.example.com/products/1";

  it("purges one URL (files): it misses next time, everything else still hits", async () => {
    const { origin, worker } = await purgeableSite();
    await warm(worker, [a, b, c]);
    const result = await purge(worker, { files: [a] });
    expect(result.status).toBe(200);
    expect(result.body.result).toMatchObject({ kind: "files", count: 1, soft: false });
    const again = await fetchBody(worker, a);
    expect(again.status).toBe("Outpost; fwd=miss; fwd-status=200; ttl=600; stored; detail=purged");
    expect(isHit((await fetchBody(worker, b)).status)).toBe(true);
    expect(isHit((await fetchBody(worker, c)).status)).toBe(true);
    expect(await origin.hits()).toBe(4);
    // The refill is stored after the purge: it hits again.
    expect(isHit((await fetchBody(worker, a)).status)).toBe(true);
  });

  it("purges a URL with the query normalised the way the cache key is (order, tracking parameters)", async () => {
    const { worker } = await purgeableSite();
    await warm(worker, ["https://shop.example.com/list?b=2&a=1"]);
    await purge(worker, { files: [{ url: "https://shop.example.com/list?a=1&utm_source=mail&b=2", headers: { "CF-IPCountry": "US" } }] });
    expect((await fetchBody(worker, "https://shop.example.com/list?a=1&b=2")).status).toContain("detail=purged");
  });

  it("purges by prefix at path-segment boundaries", async () => {
    const { origin, worker } = await purgeableSite();
    const productsList = "https://shop.example.com/productslist";
    await warm(worker, [a, b, c, productsList]);
    await purge(worker, { prefixes: ["shop.example.com/products/"] });
    expect((await fetchBody(worker, a)).status).toContain("detail=purged");
    expect((await fetchBody(worker, b)).status).toContain("detail=purged");
    expect(isHit((await fetchBody(worker, c)).status)).toBe(true);
    expect(isHit((await fetchBody(worker, productsList)).status)).toBe(true);
    expect(await origin.hits()).toBe(6);
  });

  it("purges by host and leaves other hosts cached", async () => {
    const { worker } = await purgeableSite();
    await warm(worker, [a, d]);
    await purge(worker, { hosts: ["SHOP.example.com"] });
    expect((await fetchBody(worker, a)).status).toContain("detail=purged");
    expect(isHit((await fetchBody(worker, d)).status)).toBe(true);
  });

  it("purges everything", async () => {
    const { origin, worker } = await purgeableSite();
    await warm(worker, [a, c, d]);
    await purge(worker, { purge_everything: true });
    for (const url of [a, c, d]) expect((await fetchBody(worker, url)).status).toContain("detail=purged");
    expect(await origin.hits()).toBe(6);
  });

  it("purges by tag from Cache-Tag and Surrogate-Key, case-insensitively, and does not pass the tags on", async () => {
    const origin = await createOrigin("origin", { kind: "echo", headers: { "cache-control": "max-age=600" } });
    const tagged = await createOrigin("tagged", { kind: "echo", headers: { "cache-control": "max-age=600", "cache-tag": "Product-1, catalog", "surrogate-key": "Sale  summer" } });
    const config = {
      cache_version: crypto.randomUUID().slice(0, 8),
      pools: [
        { name: "plain", origins: [{ name: "origin", address: origin.url }] },
        { name: "tagged", origins: [{ name: "tagged", address: tagged.url }] },
      ],
      routes: [
        { name: "tagged", hosts: ["*"], path: "/tagged/*", default_pools: ["tagged"] },
        { name: "plain", hosts: ["*"], path: "/*", default_pools: ["plain"] },
      ],
    };
    const worker = createTestWorker(testEnv({ OUTPOST: config, OUTPOST_ADMIN_TOKEN: TOKEN }));
    const first = await worker.fetch(new Request("https://shop.example.com/tagged/x"));
    expect(first.headers.has("cache-tag")).toBe(false);
    expect(first.headers.has("surrogate-key")).toBe(false);
    await first.text();
    await warm(worker, ["https://shop.example.com/plain"]);
    expect(isHit((await fetchBody(worker, "https://shop.example.com/tagged/x")).status)).toBe(true);

    await purge(worker, { tags: ["PRODUCT-1"] });
    expect((await fetchBody(worker, "https://shop.example.com/tagged/x")).status).toContain("detail=purged");
    expect(isHit((await fetchBody(worker, "https://shop.example.com/plain")).status)).toBe(true);
    worker.clock.advance(1_000);
    await purge(worker, { tags: ["summer"] });
    expect((await fetchBody(worker, "https://shop.example.com/tagged/x")).status).toContain("detail=purged");
    expect(await tagged.hits()).toBe(3);
  });
});

describe("soft purge", () => {
  it("marks the entry stale: served at once under stale-while-revalidate and refreshed in the background", async () => {
    const { origin, worker } = await purgeableSite({ kind: "echo", headers: { "cache-control": "max-age=600, stale-while-revalidate=60" } });
    const url = "https://shop.example.com/soft";
    await warm(worker, [url]);
    await purge(worker, { files: [url], soft: true });
    const stale = await fetchBody(worker, url);
    expect(stale.status).toBe("Outpost; hit; ttl=0; detail=memory:stale-while-revalidate");
    expect(stale.n).toBe(1);
    expect(await origin.hits()).toBe(2); // the background refresh
    const refreshed = await fetchBody(worker, url);
    expect(isHit(refreshed.status)).toBe(true);
    expect(refreshed.n).toBe(2);
  });

  it("still serves the soft-purged entry when the origin fails (stale-if-error)", async () => {
    const { origin, worker } = await purgeableSite();
    const url = "https://shop.example.com/soft-down";
    await warm(worker, [url]);
    await purge(worker, { files: [url], soft: true });
    await origin.stop();
    const response = await fetchBody(worker, url);
    expect(response.status).toContain("detail=stale-if-error");
    expect(response.n).toBe(1);
  });

  it("never serves a hard-purged entry, even with the origin down", async () => {
    const { origin, worker } = await purgeableSite();
    const url = "https://shop.example.com/hard-down";
    await warm(worker, [url]);
    await purge(worker, { files: [url] });
    await origin.stop();
    const response = await worker.fetch(new Request(url));
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("origin_unreachable");
  });
});

describe("where a purge takes effect", () => {
  it("reaches another isolate of the same location through the ledger", async () => {
    const { origin, worker, workerEnv } = await purgeableSite();
    const url = "https://shop.example.com/shared";
    const other = createTestWorker(workerEnv, { clock: worker.clock });
    await warm(worker, [url]);
    expect(isHit((await fetchBody(other, url)).status)).toBe(true); // the other isolate has read the ledger and cached the entry
    const result = await purge(worker, { files: [url] });
    expect(result.body.result.effective.this_isolate).toBe("now");
    expect(result.body.result.effective.other_locations).toMatch(/within about \d+ s/);
    worker.clock.advance(1_000); // the other isolate's re-read interval for the location's ledger
    // This answer still uses the ledger it had (the re-read runs in the background); the next one does not.
    expect(isHit((await fetchBody(other, url)).status)).toBe(true);
    expect((await fetchBody(other, url)).status).toContain("detail=purged");
    expect(await origin.hits()).toBe(2);
  });

  it("re-reads the location's copy of the ledger every second and KV's every 5 s", async () => {
    const { workerEnv } = await purgeableSite();
    const counted = countingKv(workerEnv.OUTPOST_CACHE);
    const worker = createTestWorker({ ...workerEnv, OUTPOST_CACHE: counted.kv });
    const url = "https://shop.example.com/reads";
    await warm(worker, [url]); // the first request of the isolate reads both copies
    expect(counted.ledgerReads()).toBe(1);
    for (let second = 1; second <= 5; second++) {
      await fetchBody(worker, url);
      worker.clock.advance(1_000);
    }
    expect(counted.ledgerReads()).toBe(2); // once more, 5 s after the first
  });

  it("costs the same KV work whatever the number of cached entries (thousands stored, one tag purged)", { timeout: 60_000 }, async () => {
    const { worker, workerEnv, config } = await purgeableSite();
    const now = worker.clock.now();
    const policy = cachePolicySchema.parse({});
    const kv = workerEnv.OUTPOST_CACHE;
    const entries = 2_000;
    const urls = Array.from({ length: entries }, (_, index) => `https://bulk.example.com/item/${index}`);
    // Written straight into KV in the entry format (a fill per entry would take minutes).
    await Promise.all(
      urls.map(async (url, index) => {
        const key = await buildCacheKey({ url: new URL(url), headers: new Headers(), country: undefined, routeName: "site", cacheVersion: config.cache_version, policy });
        const meta: ResponseEntryMeta = {
          v: 1, kind: "response", status: 200, headers: [["content-type", "text/plain"]], tags: [index % 2 === 0 ? "even" : "odd"],
          storedAt: now, initialAgeSeconds: 0, freshUntilAt: now + 600_000, staleWhileRevalidateUntilAt: now + 600_000, staleIfErrorUntilAt: now + 600_000, keepUntilAt: now + 600_000,
        };
        await kv.put(key, encodeRecord(meta, new TextEncoder().encode(`item ${index}`).buffer as ArrayBuffer), { expirationTtl: 600 });
      }),
    );
    worker.clock.advance(1_000);
    const counted = countingKv(kv);
    const counting = createTestWorker(testEnv({ OUTPOST: config, OUTPOST_ADMIN_TOKEN: TOKEN, OUTPOST_CACHE: counted.kv }), { clock: worker.clock });
    const before = counted.operations();
    expect((await purge(counting, { tags: ["even"] })).status).toBe(200);
    // Read the ledger (merge what others wrote), write it, write the purge log entry: not one per entry.
    expect(counted.operations() - before).toBe(3);

    for (const index of [0, 2, 998, 1_998]) {
      const response = await counting.fetch(new Request(urls[index]!));
      expect(response.headers.get("cache-status")).toContain("fwd=miss");
      await response.text();
    }
    for (const index of [1, 3, 999, 1_999]) {
      const response = await counting.fetch(new Request(urls[index]!));
      expect(response.headers.get("cache-status")).toMatch(/^Outpost; hit/);
      expect(await response.text()).toBe(`item ${index}`);
    }
  });
});

describe("purges lost to concurrent writers", () => {
  it("comes back with the next cron run: the purge log is folded into the ledger", async () => {
    const { origin, worker, workerEnv, config } = await purgeableSite();
    const url = "https://shop.example.com/lost";
    await warm(worker, [url]);
    expect((await purge(worker, { files: [url] })).body.result.effective.other_locations).toMatch(/within about \d+ s/);
    // Another location wrote its own ledger at the same moment, without this purge (KV is last-writer-wins) ...
    const kv = workerEnv.OUTPOST_CACHE;
    await kv.put(`outpost:purge-ledger:v1:${config.cache_version}`, JSON.stringify({ v: 1, everything: [0, 0], items: {} }));
    // ... and a location that never had this Cache API copy reads only KV's.
    expect(await caches.default.delete(ledgerCacheUrl(config.cache_version))).toBe(true);
    const elsewhere = createTestWorker(workerEnv, { clock: worker.clock });
    expect(isHit((await fetchBody(elsewhere, url)).status)).toBe(true); // the purge is lost there, for now

    await worker.scheduled(); // the cron folds the purge log back into the ledger
    const later = createTestWorker(workerEnv, { clock: worker.clock });
    expect((await fetchBody(later, url)).status).toContain("detail=purged");
    expect(await origin.hits()).toBe(2);
  });
});

/** The real KV binding, with every call counted (and its key kept): a wrapper, not a fake. */
function countingKv(kv: KVNamespace) {
  const keys: string[] = [];
  const wrapped = new Proxy(kv, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        keys.push(String(args[0]));
        return value.apply(target, args);
      };
    },
  });
  return { kv: wrapped, operations: () => keys.length, ledgerReads: () => keys.filter((key) => key.startsWith("outpost:purge-ledger:")).length };
}

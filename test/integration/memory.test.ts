// Per-isolate memory budgets end to end: the fill budget under concurrent large misses, and the hot
// tier counting an entry's headers, not only its body.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp, createDeps } from "../../src/app.ts";
import { CacheState } from "../../src/cache/cache-state.ts";
import { createOrigin } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv, TestClock } from "../helpers/worker.ts";

const BODY_BYTES = 100_000;
/** Room for three fills of BODY_BYTES (plus their record heads), not four. */
const BUDGET_BYTES = 350_000;
const cacheStatus = (response: Response) => response.headers.get("cache-status");

async function site(behavior: Parameters<typeof createOrigin>[1]) {
  const origin = await createOrigin("origin", behavior);
  const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }]), cache_version: crypto.randomUUID().slice(0, 8) };
  return { origin, workerEnv: testEnv({ OUTPOST: config }) };
}

describe("the fill budget", () => {
  it("stores only as many concurrent large fills as the budget holds; the next streams through uncached and says why", async () => {
    // Headers and the first 1,000 bytes at once, the rest when released: every fill is in flight together.
    const { origin, workerEnv } = await site({
      kind: "held-stream",
      firstChunk: "a".repeat(1_000),
      rest: "b".repeat(BODY_BYTES - 1_000),
      headers: { "content-length": String(BODY_BYTES), "cache-control": "max-age=60" },
    });
    const deps = createDeps(new TestClock(), () => 0, () => 1);
    deps.cacheState = new CacheState({ fillBudgetBytes: BUDGET_BYTES });
    const app = createApp(deps);
    const ctx = createExecutionContext();
    // Cache-busting: four different keys, so nothing collapses.
    const responses = [];
    for (let index = 0; index < 4; index += 1) responses.push(await app.fetch(new Request(`https://www.example.com/large?bust=${index}`), workerEnv, ctx));
    const statuses = responses.map(cacheStatus);
    expect(statuses.slice(0, 3)).toEqual(Array(3).fill("Outpost; fwd=miss; fwd-status=200; ttl=60; stored"));
    expect(statuses[3]).toBe("Outpost; fwd=miss; fwd-status=200; detail=fill-budget");
    expect(deps.cacheState.fills.usage.fills).toBe(3);
    expect(deps.cacheState.fills.usage.bytes).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(deps.cacheState.fills.usage.bytes).toBeGreaterThanOrEqual(3 * BODY_BYTES);

    await origin.release();
    const bodies = await Promise.all(responses.map((response) => response.text()));
    expect(bodies.map((body) => body.length)).toEqual(Array(4).fill(BODY_BYTES));
    await waitOnExecutionContext(ctx);
    expect(deps.cacheState.fills.usage).toMatchObject({ fills: 0, bytes: 0, max_bytes: BUDGET_BYTES });
    expect(deps.cacheState.fills.usage.peak_bytes).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(await origin.hits()).toBe(4);

    // The stored three are hits; the fourth was not remembered as uncacheable: its next miss stores it.
    const again = async (index: number) => {
      const next = createExecutionContext();
      const response = await app.fetch(new Request(`https://www.example.com/large?bust=${index}`), workerEnv, next);
      const promise = response.text();
      await origin.release();
      const body = await promise;
      await waitOnExecutionContext(next);
      expect(body).toBe(`${"a".repeat(1_000)}${"b".repeat(BODY_BYTES - 1_000)}`);
      return cacheStatus(response);
    };
    expect(await again(0)).toBe("Outpost; hit; ttl=60; detail=memory"); // the record read in place is whole
    expect(await again(3)).toBe("Outpost; fwd=miss; fwd-status=200; ttl=60; stored");
    expect(await origin.hits()).toBe(5);
  });

  it("stops storing a fill without Content-Length once its body outgrows the budget; the client still gets every byte", async () => {
    const { origin, workerEnv } = await site({ kind: "large", bytes: 300_000, headers: { "cache-control": "max-age=60", "transfer-encoding": "chunked", "content-length": [] as unknown as string } });
    const deps = createDeps(new TestClock(), () => 0, () => 1);
    deps.cacheState = new CacheState({ fillBudgetBytes: 200_000 });
    const app = createApp(deps);
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request("https://www.example.com/chunked"), workerEnv, ctx);
    expect((await response.text()).length).toBe(300_000);
    await waitOnExecutionContext(ctx);
    expect(deps.cacheState.fills.usage.bytes).toBe(0);
    const second = await createTestWorker(workerEnv).fetch(new Request("https://www.example.com/chunked"));
    await second.text();
    expect(await origin.hits()).toBe(2); // nothing was stored
  });
});

describe("the hot tier", () => {
  it("does not hold an entry whose headers alone exceed its per-entry bytes: the next hit comes from the location tier", async () => {
    const { origin, workerEnv } = await site({ kind: "fixed", status: 200, headers: { "cache-control": "max-age=60", "x-large": "h".repeat(64 * 1024) }, body: "small" });
    const worker = createTestWorker(workerEnv);
    await (await worker.fetch(new Request("https://www.example.com/headers"))).text();
    expect(worker.deps.cacheState.memory.size.entries).toBe(0);
    const hit = await worker.fetch(new Request("https://www.example.com/headers"));
    expect(cacheStatus(hit)).toBe("Outpost; hit; ttl=60; detail=colo");
    expect(hit.headers.get("x-large")?.length).toBe(64 * 1024);
    expect(await origin.hits()).toBe(1);
  });

  it("counts an entry's header fields in its bytes (admin status memory_tier)", async () => {
    const { workerEnv } = await site({ kind: "fixed", status: 200, headers: { "cache-control": "max-age=60", "x-medium": "h".repeat(20_000) }, body: "small" });
    const worker = createTestWorker(workerEnv);
    await (await worker.fetch(new Request("https://www.example.com/medium"))).text();
    expect(worker.deps.cacheState.memory.size.entries).toBe(1);
    expect(worker.deps.cacheState.memory.size.bytes).toBeGreaterThan(3 * 20_000); // the record's bytes and two decoded copies
  });
});

describe("stale-while-revalidate on a large entry", () => {
  const LARGE = 1_500_000; // above STREAMED_VALUE_MIN_BYTES: storage tiers stream it
  const large = { kind: "large" as const, bytes: LARGE, headers: { "cache-control": "max-age=1, stale-while-revalidate=600" } };

  /** Stores the entry, lets it go stale, then sends three stale hits at once from a new isolate while the refresh is held. */
  async function staleHits(fillBudgetBytes?: number) {
    const { origin, workerEnv } = await site({ kind: "sequence", steps: [large, { kind: "held", then: large }] });
    const clock = new TestClock();
    await (await createTestWorker(workerEnv, { clock }).fetch(new Request("https://www.example.com/big"))).arrayBuffer();
    clock.advance(2_000);
    const deps = createDeps(clock, () => 0, () => 1);
    deps.cacheState = new CacheState(fillBudgetBytes === undefined ? {} : { fillBudgetBytes });
    const app = createApp(deps);
    const ctx = createExecutionContext();
    const responses = await Promise.all([1, 2, 3].map(() => app.fetch(new Request("https://www.example.com/big"), workerEnv, ctx)));
    return { origin, deps, ctx, responses };
  }

  it("reads the entry whole for the one request that refreshes it, within the fill budget; the other stale hits stream it", async () => {
    const { origin, deps, ctx, responses } = await staleHits();
    expect(responses.map(cacheStatus)).toEqual(Array(3).fill("Outpost; hit; ttl=-1; detail=colo:stale-while-revalidate"));
    expect(deps.cacheState.fills.usage).toMatchObject({ fills: 1, bytes: LARGE });
    const sizes = await Promise.all(responses.map(async (response) => (await response.arrayBuffer()).byteLength));
    expect(sizes).toEqual([LARGE, LARGE, LARGE]);
    await origin.release();
    await waitOnExecutionContext(ctx);
    expect(deps.cacheState.fills.usage.bytes).toBe(0);
    expect(await origin.hits()).toBe(2); // the fill, then one refresh
  });

  it("skips the refresh when the fill budget cannot hold the entry, and streams every stale hit", async () => {
    const { origin, deps, ctx, responses } = await staleHits(LARGE - 1);
    const sizes = await Promise.all(responses.map(async (response) => (await response.arrayBuffer()).byteLength));
    expect(sizes).toEqual([LARGE, LARGE, LARGE]);
    await waitOnExecutionContext(ctx);
    expect(deps.cacheState.fills.usage.peak_bytes).toBe(0);
    expect(await origin.hits()).toBe(1);
  });
});

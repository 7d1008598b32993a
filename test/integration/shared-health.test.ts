// Shared health end to end: the PoolHealth Durable Object from wrangler.toml (run by the vitest
// plugin, SQLite storage included), workers with their own deps standing for isolates in fake
// locations (request.cf.colo), one injected clock, real Cache API and counting origins. Origin "a"
// refuses every connection (reset); "b" answers. Steering is off, so "a" is tried first unless
// something orders it last.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { POOL_HEALTH_BINDING, type PoolHealthStub } from "../../src/coordination/pool-health-client.ts";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import type { OutpostEnv } from "../../src/env.ts";
import { createOrigin } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv, TestClock } from "../helpers/worker.ts";

type Worker = ReturnType<typeof createTestWorker>;
type Namespace = NonNullable<OutpostEnv["OUTPOST_POOL_HEALTH"]>;
const OPEN_SECONDS = 30;

/** Counts every call the worker makes to the pool health objects (each is one billed request). */
function countingNamespace(namespace: Namespace) {
  const calls = { demotions: 0, report: 0 };
  const counted = {
    idFromName: (name: string) => namespace.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = namespace.get(id) as unknown as PoolHealthStub;
      return {
        demotions: (query) => ((calls.demotions += 1), stub.demotions(query)),
        report: (opened) => ((calls.report += 1), stub.report(opened)),
      } satisfies PoolHealthStub;
    },
  };
  return { namespace: counted as unknown as Namespace, calls };
}

/**
 * A mock namespace whose every call rejects. A mock because the real object in this runtime cannot
 * be made unreachable on demand; in production the same happens when the stub's call rejects
 * (object overloaded or reset, network).
 */
function rejectingNamespace() {
  const calls = { count: 0 };
  const fail = () => ((calls.count += 1), Promise.reject(new Error("Durable Object is overloaded (mock)")));
  const stub: PoolHealthStub = { demotions: fail, report: fail };
  return { namespace: { idFromName: () => ({}), get: () => stub } as unknown as Namespace, calls };
}

async function sharedSite(options: { coordination?: OutpostConfigInput["coordination"]; namespace?: Namespace | null } = {}) {
  const a = await createOrigin("a", { kind: "reset" });
  const b = await createOrigin("b", { kind: "echo", headers: { "cache-control": "max-age=600" } });
  const config: OutpostConfigInput = {
    ...siteConfig([
      {
        name: "main",
        origin_steering: { policy: "off" },
        circuit_breaker: { consecutive_failures: 1, open_seconds: OPEN_SECONDS },
        origins: [
          { name: "a", address: a.url },
          { name: "b", address: b.url },
        ],
      },
    ]),
    cache_version: crypto.randomUUID().slice(0, 8),
    coordination: options.coordination ?? { shared_health: true },
  };
  const counting = countingNamespace(env.OUTPOST_POOL_HEALTH!);
  const namespace = options.namespace === null ? undefined : (options.namespace ?? counting.namespace);
  const workerEnv = testEnv({ OUTPOST: config, [POOL_HEALTH_BINDING]: namespace });
  const clock = new TestClock();
  const isolate = () => createTestWorker(workerEnv, { clock });
  return { a, b, clock, isolate, calls: counting.calls };
}

let path = 0;
/** A miss (a new path each time) from location `colo`: always answered, by "b" at worst. */
async function miss(worker: Worker, colo: string, url = `https://shop.example.com/p/${(path += 1)}`) {
  const response = await worker.fetch(new Request(url, { cf: { colo } }));
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  return response.headers.get("outpost-upstream") ?? "";
}

describe("shared health", () => {
  it("demotes an origin whose circuits opened in two locations for a third location that never saw it fail", async () => {
    const { a, b, clock, isolate, calls } = await sharedSite();
    await miss(isolate(), "AAA");
    await miss(isolate(), "BBB"); // polled before its attempt: one location had reported, nothing demoted
    expect(await a.hits()).toBe(2);
    expect(calls.report).toBe(2); // each isolate's circuit opened once

    // Within the poll interval, another isolate of location BBB reads its location's memo: "a" is still tried.
    await miss(isolate(), "BBB");
    expect(await a.hits()).toBe(3);

    clock.advance(1_000);
    const demotionsBefore = calls.demotions;
    const later = isolate(); // a fresh isolate in CCC: no circuit of its own
    expect(await miss(later, "CCC")).toContain("b");
    expect(await a.hits()).toBe(3);
    expect(calls.demotions).toBe(demotionsBefore + 1);
    expect(later.health.breakerState({ pool: { name: "main" } as never, origin: { name: "a", address: a.url } as never }).kind).toBe("closed");
    expect(await b.hits()).toBe(4);
  });

  it("uses a memo up to two intervals old at once and asks the object in the background: a busy location's misses never wait for it", async () => {
    const { a, clock, isolate, calls } = await sharedSite();
    await miss(isolate(), "AAA");
    await miss(isolate(), "CCC"); // CCC's memo (nothing demoted) is written before its own circuit opens and reports
    expect(calls.report).toBe(2);
    expect(await a.hits()).toBe(2);

    clock.advance(1_000); // CCC's memo is one interval old: aging
    const busy = isolate();
    const demotionsBefore = calls.demotions;
    expect(await miss(busy, "CCC")).toContain("attempts=2"); // answered from the memo: "a" tried first
    expect(await a.hits()).toBe(3);
    expect(calls.demotions).toBe(demotionsBefore + 1); // the background poll
    expect(busy.health.sharedStats.polls).toBe(1);
    // The isolate adopted the background answer (its own circuit for "a" is open too, so a fresh
    // isolate of the location shows it: it reads the memo the poll wrote).
    expect(await miss(isolate(), "CCC")).toContain("attempts=1");
    expect(await a.hits()).toBe(3);
    expect(calls.demotions).toBe(demotionsBefore + 1);

    clock.advance(2_000); // two intervals: no usable memo, so the object is asked on the path
    const quiet = isolate();
    expect(await miss(quiet, "CCC")).toContain("attempts=1");
    expect(calls.demotions).toBe(demotionsBefore + 2);
  });

  it("does not demote on one location's reports, however many isolates it has", async () => {
    const { a, clock, isolate } = await sharedSite();
    await miss(isolate(), "AAA");
    await miss(isolate(), "AAA");
    expect(await a.hits()).toBe(2);
    clock.advance(1_000);
    await miss(isolate(), "CCC");
    expect(await a.hits()).toBe(3);
  });

  it("lets a demotion lapse open_seconds and two poll intervals after the reports stop", async () => {
    const { a, clock, isolate } = await sharedSite();
    await miss(isolate(), "AAA");
    await miss(isolate(), "BBB");
    clock.advance(1_000);
    const third = isolate();
    await miss(third, "CCC");
    expect(await a.hits()).toBe(2);
    clock.advance(OPEN_SECONDS * 1000 + 2 * 1_000 - 1_000 - 1);
    await miss(third, "CCC"); // still within the window: not tried (its memo is older than the interval, so this polled again)
    expect(await a.hits()).toBe(2);
    clock.advance(1_001);
    await miss(third, "CCC");
    expect(await a.hits()).toBe(3);
  });

  it("keeps the origin demoted while it stays down: each location's own trial fails, re-opens its circuit and reports again", async () => {
    const { a, clock, isolate, calls } = await sharedSite();
    const first = isolate();
    const second = isolate();
    await miss(first, "AAA");
    await miss(second, "BBB");
    expect(calls.report).toBe(2);
    clock.advance(OPEN_SECONDS * 1000);
    // Their cool-downs are over: each sends its one trial to "a", though "a" is demoted everywhere.
    expect(await miss(first, "AAA")).toContain("attempts=2");
    expect(await miss(second, "BBB")).toContain("attempts=2");
    expect(await a.hits()).toBe(4);
    expect(calls.report).toBe(4);
    // Past the first demotion's end, a third location still finds "a" demoted: it never tries it.
    clock.advance(1_000);
    expect(await miss(isolate(), "CCC")).toContain("attempts=1");
    expect(await a.hits()).toBe(4);
  });

  it("never fails a request when the object rejects every call, and counts the failures", async () => {
    const broken = rejectingNamespace();
    const { a, clock, isolate } = await sharedSite({ namespace: broken.namespace });
    const worker = isolate();
    expect(await miss(worker, "AAA")).toContain("b");
    expect(await miss(isolate(), "BBB")).toContain("b");
    clock.advance(1_000);
    expect(await miss(isolate(), "CCC")).toContain("b");
    expect(await a.hits()).toBe(3); // nothing demoted: every isolate tried "a"
    expect(broken.calls.count).toBeGreaterThanOrEqual(2);
    expect(worker.health.sharedStats).toMatchObject({ polls: 1, reports: 1, failures: 2 });
  });

  it("makes no call on a cache hit, and polls a pool at most once per interval per isolate", async () => {
    const { clock, isolate, calls } = await sharedSite();
    const worker = isolate();
    const url = "https://shop.example.com/cached";
    await miss(worker, "AAA", url);
    const after = { ...calls };
    clock.advance(2_000);
    for (let i = 0; i < 3; i += 1) await miss(worker, "AAA", url); // hits
    expect(calls).toEqual(after);
    await miss(worker, "AAA"); // a miss: the interval has passed, one poll
    await miss(worker, "AAA"); // a miss within the interval: none
    expect(calls.demotions).toBe(after.demotions + 1);
  });

  it("makes no call when shared_health is off or the binding is absent", async () => {
    const off = await sharedSite({ coordination: { shared_health: false } });
    await miss(off.isolate(), "AAA");
    await miss(off.isolate(), "BBB");
    off.clock.advance(1_000);
    await miss(off.isolate(), "CCC");
    expect(off.calls).toEqual({ demotions: 0, report: 0 });
    expect(await off.a.hits()).toBe(3);

    const unbound = await sharedSite({ namespace: null });
    const worker = unbound.isolate();
    await miss(worker, "AAA");
    expect(worker.health.sharedStats).toEqual({ polls: 0, reports: 0, failures: 0 });
    expect(unbound.calls).toEqual({ demotions: 0, report: 0 });
  });
});

// The purge coordinator end to end: the Durable Object from wrangler.toml (run by the vitest plugin,
// SQLite storage included), workers with their own deps standing for isolates in fake locations
// (request.cf.colo), one injected clock, real KV, Cache API and counting origins.
// Several fake locations share this runtime's one Cache API and KV; where a test needs "another
// location", it deletes the location's copy of the ledger and KV's copy after the purge: that is
// what a location elsewhere sees before KV propagates (~60 s), so only the coordinator can tell it.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PURGE_COORDINATOR_BINDING, type CoordinatorStub } from "../../src/coordination/purge-client.ts";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import type { OutpostEnv } from "../../src/env.ts";
import { ledgerCacheUrl, ledgerKvKey } from "../../src/purge/purge-state.ts";
import { createOrigin, type EchoBody } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv, TestClock } from "../helpers/worker.ts";

const TOKEN = "test-admin-token-0123456789";
const URL_A = "https://shop.example.com/products/1";
type Worker = ReturnType<typeof createTestWorker>;
type Namespace = NonNullable<OutpostEnv["OUTPOST_PURGE_COORDINATOR"]>;

/** Counts every call the worker makes to the coordinator (each is one billed Durable Object request). */
function countingNamespace(namespace: Namespace) {
  const calls = { poll: 0, record: 0, receipt: 0 };
  const counted = {
    idFromName: (name: string) => namespace.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = namespace.get(id) as unknown as CoordinatorStub;
      return {
        poll: (report) => ((calls.poll += 1), stub.poll(report)),
        record: (purge) => ((calls.record += 1), stub.record(purge)),
        receipt: (id, now, windowMs) => ((calls.receipt += 1), stub.receipt(id, now, windowMs)),
      } satisfies CoordinatorStub;
    },
  };
  return { namespace: counted as unknown as Namespace, calls };
}

/**
 * A mock namespace whose every call rejects, or never answers. A mock because the real object in
 * this runtime cannot be made unreachable on demand; in production the same thing happens when
 * the stub's call rejects (object overloaded or reset, network) or hangs.
 */
function brokenNamespace(mode: "reject" | "hang") {
  const calls = { count: 0 };
  const fail = () => {
    calls.count += 1;
    return mode === "reject" ? Promise.reject(new Error("Durable Object is overloaded (mock)")) : new Promise<never>(() => {});
  };
  const stub: CoordinatorStub = { poll: fail, record: fail, receipt: fail };
  return { namespace: { idFromName: () => ({}), get: () => stub } as unknown as Namespace, calls };
}

async function coordinatedSite(options: { coordination?: OutpostConfigInput["coordination"]; namespace?: Namespace | null } = {}) {
  const origin = await createOrigin("origin", { kind: "echo", headers: { "cache-control": "max-age=600" } });
  const config: OutpostConfigInput = {
    ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }]),
    cache_version: crypto.randomUUID().slice(0, 8),
    coordination: options.coordination ?? { purge_coordinator: true },
  };
  const counting = countingNamespace(env.OUTPOST_PURGE_COORDINATOR!);
  const namespace = options.namespace === null ? undefined : (options.namespace ?? counting.namespace);
  const workerEnv = testEnv({ OUTPOST: config, OUTPOST_ADMIN_TOKEN: TOKEN, [PURGE_COORDINATOR_BINDING]: namespace });
  const clock = new TestClock();
  /** One isolate in location `colo`: its own deps (ledger, epoch, counters), the shared clock. */
  const isolate = () => createTestWorker(workerEnv, { clock });
  return { origin, config, workerEnv, clock, isolate, calls: counting.calls };
}

async function get(worker: Worker, url: string, colo: string) {
  const response = await worker.fetch(new Request(url, { cf: { colo } }));
  expect(response.status).toBe(200);
  return { status: response.headers.get("cache-status") ?? "", n: ((await response.json()) as EchoBody).n };
}

async function admin(worker: Worker, path: string, body?: unknown) {
  const init: RequestInit = body === undefined ? {} : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } };
  const response = await worker.fetch(new Request(`https://www.example.com/__outpost${path}`, { ...init, headers: { ...(init.headers as object), authorization: `Bearer ${TOKEN}` } }));
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** What a location elsewhere sees right after a purge: neither this location's copy nor KV's has it yet. */
async function forgetSharedCopies(cacheVersion: string) {
  await caches.default.delete(ledgerCacheUrl(cacheVersion));
  await env.OUTPOST_CACHE.delete(ledgerKvKey(cacheVersion));
}

const isHit = (status: string) => status.startsWith("Outpost; hit");

afterEach(() => vi.restoreAllMocks());

describe("recording a purge", () => {
  it("answers once the coordinator has recorded it, with its id, epoch and receipt", async () => {
    const { isolate, calls } = await coordinatedSite();
    const worker = isolate();
    const first = await admin(worker, "/purge", { tags: ["a"] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success: true, errors: [], result: { kind: "tags", epoch: 1, coordinator: "recorded" } });
    expect(first.body.result.id).toMatch(/^[0-9a-f]{32}$/);
    expect(first.body.result.receipt).toBe(`/__outpost/purge/${first.body.result.id}`);
    expect(first.body.result.effective.other_locations).toBe("within about 1.5 s (each location asks the purge coordinator every 1 s and shares the answer with its isolates for as long)");
    const second = await admin(worker, "/purge", { purge_everything: true, soft: true });
    expect(second.body.result).toMatchObject({ kind: "everything", epoch: 2, soft: true });
    expect(calls.record).toBe(2);
  });

  it("keeps one ledger per cache_version: a new version's coordinator starts at epoch 1", async () => {
    const site = await coordinatedSite();
    await admin(site.isolate(), "/purge", { tags: ["a"] });
    const other = await coordinatedSite();
    expect((await admin(other.isolate(), "/purge", { tags: ["a"] })).body.result.epoch).toBe(1);
  });
});

describe("learning new epochs", () => {
  it("reaches an isolate in another location within the poll interval, through the coordinator", async () => {
    const { isolate, clock, origin, config, calls } = await coordinatedSite();
    const purger = isolate();
    const tokyo = isolate();
    expect((await get(tokyo, URL_A, "NRT")).status).toContain("stored");
    expect(calls.poll).toBe(1); // the isolate's first read
    clock.advance(1);
    const purged = await admin(purger, "/purge", { files: [URL_A] });
    expect(purged.body.result.epoch).toBe(1);
    await forgetSharedCopies(config.cache_version!);

    clock.advance(998); // 999 ms: Tokyo re-checks, but its memo is younger than the interval: no call
    expect(isHit((await get(tokyo, URL_A, "NRT")).status)).toBe(true);
    expect(calls.poll).toBe(1);
    clock.advance(499); // 1498 ms: less than half an interval since the last re-check: none
    expect(isHit((await get(tokyo, URL_A, "NRT")).status)).toBe(true);
    expect(calls.poll).toBe(1);
    clock.advance(1); // 1499 ms: the re-check finds the memo too old and calls (in the background)
    await get(tokyo, URL_A, "NRT");
    expect(calls.poll).toBe(2);
    expect((await get(tokyo, URL_A, "NRT")).status).toContain("detail=purged");
    expect(await origin.hits()).toBe(2);
    expect(tokyo.deps.purges.applied.epoch).toBe(1);
  });

  it("re-checks every half interval and calls once the memo is an interval old", async () => {
    const { isolate, clock, calls } = await coordinatedSite({ coordination: { purge_coordinator: true, purge_poll_interval_ms: 5_000 } });
    const worker = isolate();
    await get(worker, URL_A, "FRA");
    clock.advance(4_999); // re-checks (2.5 s have passed) with a memo 4999 ms old: no call
    await get(worker, URL_A, "FRA");
    expect(calls.poll).toBe(1);
    clock.advance(2_499); // 7498 ms: less than 2.5 s since that re-check
    await get(worker, URL_A, "FRA");
    expect(calls.poll).toBe(1);
    clock.advance(1); // 7499 ms: re-checks, the memo is 7499 ms old
    await get(worker, URL_A, "FRA");
    expect(calls.poll).toBe(2);
  });

  it("makes no coordinator call on the hit path inside the interval, and one per location per interval for all its isolates", async () => {
    const { isolate, clock, calls } = await coordinatedSite();
    const isolates = [isolate(), isolate(), isolate()];
    for (const worker of isolates) await get(worker, URL_A, "FRA");
    // First reads: the first isolate polls, the others find its memo (younger than the interval).
    expect(calls.poll).toBe(1);
    for (let i = 0; i < 30; i += 1) expect(isHit((await get(isolates[i % 3]!, URL_A, "FRA")).status)).toBe(true);
    expect(calls.poll).toBe(1);
    // 10 s of traffic, a request every 100 ms spread over the three isolates: at most one call per
    // interval (10), not one per isolate per interval (30) nor one per request (100).
    for (let i = 0; i < 100; i += 1) {
      clock.advance(100);
      await get(isolates[i % 3]!, URL_A, "FRA");
    }
    const calledIn10s = calls.poll - 1;
    expect(calledIn10s).toBeGreaterThanOrEqual(5);
    expect(calledIn10s).toBeLessThanOrEqual(10);
    // Another location has its own memo: its own call.
    await get(isolate(), URL_A, "AMS");
    expect(calls.poll).toBe(calledIn10s + 2);
  });
});

describe("receipts", () => {
  it("fills up location by location as each one reports the epoch it has applied", async () => {
    const { isolate, clock } = await coordinatedSite();
    const locations = { FRA: isolate(), NRT: isolate(), GRU: isolate() };
    const visit = async (colo: keyof typeof locations) => get(locations[colo], URL_A, colo);
    for (const colo of ["FRA", "NRT", "GRU"] as const) await visit(colo);
    const purgeAt = clock.now();
    const { body } = await admin(isolate(), "/purge", { tags: ["t"] });
    const receiptPath = `/purge/${body.result.id}`;
    expect(body.result.receipt).toBe(`/__outpost${receiptPath}`);

    let receipt = (await admin(isolate(), receiptPath)).body;
    expect(receipt).toMatchObject({ success: true, errors: [], messages: [], result: { id: body.result.id, epoch: 1, complete: false, observed: [], window_minutes: 10 } });
    expect(receipt.result.pending.map((location: { colo: string }) => location.colo)).toEqual(["FRA", "GRU", "NRT"]);

    clock.advance(1_000);
    await visit("FRA"); // FRA polls and applies epoch 1 now (purgeAt + 1 s) ...
    receipt = (await admin(isolate(), receiptPath)).body;
    expect(receipt.result.observed).toEqual([]); // ... and reports it on its next poll
    clock.advance(1_000);
    await visit("FRA");
    receipt = (await admin(isolate(), receiptPath)).body;
    expect(receipt.result.observed).toEqual([{ colo: "FRA", observed_at: new Date(purgeAt + 1_000).toISOString(), after_ms: 1_000 }]);
    expect(receipt.result.pending.map((location: { colo: string }) => location.colo)).toEqual(["GRU", "NRT"]);
    expect(receipt.result.pending[0]).toMatchObject({ colo: "GRU", epoch: 0, last_poll_at: new Date(purgeAt).toISOString() });

    for (const colo of ["NRT", "GRU"] as const) await visit(colo); // apply
    clock.advance(1_000);
    for (const colo of ["NRT", "GRU"] as const) await visit(colo); // report
    receipt = (await admin(isolate(), receiptPath)).body;
    expect(receipt.result.complete).toBe(true);
    expect(receipt.result.observed.map((location: { colo: string; after_ms: number }) => [location.colo, location.after_ms])).toEqual([["FRA", 1_000], ["GRU", 2_000], ["NRT", 2_000]]);

    // Locations silent for longer than the window drop out of the receipt.
    clock.advance(10 * 60_000 + 1);
    await visit("FRA");
    receipt = (await admin(isolate(), receiptPath)).body;
    expect(receipt.result.observed.map((location: { colo: string }) => location.colo)).toEqual(["FRA"]);
  });

  it("answers unknown ids with 404 and malformed ones with 400, in the envelope", async () => {
    const { isolate } = await coordinatedSite();
    const missing = await admin(isolate(), `/purge/${"0".repeat(32)}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, result: null, errors: [{ code: "not_found" }] });
    expect((await admin(isolate(), "/purge/not-an-id")).status).toBe(400);
  });

  it("says receipts need the coordinator when it is off", async () => {
    const { isolate } = await coordinatedSite({ coordination: { purge_coordinator: false } });
    const answer = await admin(isolate(), `/purge/${"0".repeat(32)}`);
    expect(answer.status).toBe(409);
    expect(answer.body.errors[0].code).toBe("coordinator_off");
  });
});

describe("when the coordinator fails", () => {
  it("falls back to the KV ledger: requests never fail, purges still apply, every fallback is counted and logged", async () => {
    const broken = brokenNamespace("reject");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { isolate, clock, origin } = await coordinatedSite({ namespace: broken.namespace });
    const worker = isolate();
    const neighbour = isolate();
    expect((await get(worker, URL_A, "FRA")).status).toContain("stored");
    expect(isHit((await get(neighbour, URL_A, "FRA")).status)).toBe(true);
    clock.advance(1); // the purge comes after the entry was stored
    const purged = await admin(worker, "/purge", { files: [URL_A] });
    expect(purged.status).toBe(200);
    expect(purged.body.success).toBe(true);
    expect(purged.body.result.coordinator).toBe("unavailable: recorded in the KV ledger only");
    expect(purged.body.result.epoch).toBeUndefined();
    expect((await get(worker, URL_A, "FRA")).status).toContain("detail=purged");
    // The neighbour learns it as without the coordinator: the location's copy of the ledger, next re-read.
    clock.advance(1_000);
    await get(neighbour, URL_A, "FRA");
    expect((await get(neighbour, URL_A, "FRA")).status).toContain("detail=purged");
    expect(await origin.hits()).toBe(3);
    expect(worker.deps.purges.coordinatorFallbacks).toBe(2); // its first read and the purge
    expect(neighbour.deps.purges.coordinatorFallbacks).toBe(2); // two reads
    const logged = warn.mock.calls.map(([line]) => String(line)).filter((line) => line.includes('"purge_coordinator_unavailable"'));
    expect(logged.length).toBe(2); // once per isolate per minute, not once per failure
    const status = await admin(worker, "/status");
    expect(status.body.purges.coordinator).toMatchObject({ enabled: true, bound: true, fallbacks: 2, applied_epoch: 0 });
    const receipt = await admin(worker, `/purge/${purged.body.result.id}`);
    expect(receipt.status).toBe(503);
    expect(receipt.body).toMatchObject({ success: false, errors: [{ code: "coordinator_unavailable" }] });
  });

  it("does not let a coordinator that never answers hold a request longer than the poll timeout", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {}); // the fallback's log line, asserted above
    const { isolate, clock, origin } = await coordinatedSite({ namespace: brokenNamespace("hang").namespace });
    const worker = isolate();
    const pending = worker.fetch(new Request(URL_A, { cf: { colo: "FRA" } }));
    await vi.waitFor(() => expect(clock.pendingTimers()).toBeGreaterThan(0));
    clock.advance(1_500);
    const response = await pending;
    expect(response.status).toBe(200);
    expect(await origin.hits()).toBe(1);
    expect(worker.deps.purges.coordinatorFallbacks).toBe(1);
  });
});

describe("without the coordinator", () => {
  it("never calls it when the configuration leaves it off, even with the binding", async () => {
    const { isolate, calls, clock } = await coordinatedSite({ coordination: { purge_coordinator: false } });
    const worker = isolate();
    await get(worker, URL_A, "FRA");
    clock.advance(1);
    const purged = await admin(worker, "/purge", { files: [URL_A] });
    expect(purged.body.result.coordinator).toBe("off");
    expect(purged.body.result.epoch).toBeUndefined();
    expect((await get(worker, URL_A, "FRA")).status).toContain("detail=purged");
    expect(calls).toEqual({ poll: 0, record: 0, receipt: 0 });
  });

  it("uses the KV ledger alone when the configuration asks for it but the binding is missing", async () => {
    const { isolate, clock } = await coordinatedSite({ namespace: null });
    const worker = isolate();
    await get(worker, URL_A, "FRA");
    clock.advance(1);
    const purged = await admin(worker, "/purge", { files: [URL_A] });
    expect(purged.body.result).toMatchObject({ coordinator: "off" });
    expect((await get(worker, URL_A, "FRA")).status).toContain("detail=purged");
    expect(worker.deps.purges.coordinatorFallbacks).toBe(0);
  });
});

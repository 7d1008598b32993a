// The simulator's RPC transport for the coordination objects (sim/coordinator-transport.ts): a stub from
// the stand-in namespace carries record / receipt / poll (the purge coordinator) or report / demotions
// (pool health), their arguments and the object's name to the coordinator worker, and brings back the
// object's answer, its absence or its failure; the worker refuses anything else. The last tests run the
// real PurgeCoordinator and PoolHealth (sim/coordinator-worker.ts on Miniflare, SQLite storage) behind a
// loopback HTTP round trip, as `npm run sim -- --coordination --shared-health` does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleWorker, startWorker } from "../../scripts/worker-bundle.mjs";
import {
  answerCoordinatorCall,
  answerObjectCall,
  emptyCallCounts,
  emptyObjectCallCounts,
  POOL_HEALTH_METHODS,
  remoteCoordinatorNamespace,
  remotePoolHealthNamespace,
  type CoordinatorCallCounts,
  type ObjectCallCounts,
} from "../../sim/coordinator-transport.ts";

type Stub = Record<"record" | "receipt" | "poll", (...args: unknown[]) => Promise<unknown>>;
type HealthStub = Record<"report" | "demotions", (...args: unknown[]) => Promise<unknown>>;

/** A namespace whose objects answer from `answer` and note every call (name, method, args). */
function fakeNamespace(answer: (method: string, args: unknown[]) => unknown) {
  const calls: { name: string; method: string; args: unknown[] }[] = [];
  const namespace = {
    idFromName: (name: string) => ({ name }),
    get: (id: { name: string }) =>
      new Proxy({}, { get: (_target, method: string) => async (...args: unknown[]) => (calls.push({ name: id.name, method, args }), answer(method, args)) }),
  };
  return { namespace: namespace as unknown as DurableObjectNamespace, calls };
}

/** The location side wired straight to the worker side: every call is a real Request and Response. */
function wired(namespace: DurableObjectNamespace, counts: CoordinatorCallCounts, seen: Request[] = []) {
  const remote = remoteCoordinatorNamespace("http://coordinator.test", async (url, init) => {
    const request = new Request(url, init);
    seen.push(request.clone());
    return answerCoordinatorCall(request, namespace, counts);
  });
  return remote.get(remote.idFromName("purge-ledger:v1")) as unknown as Stub;
}

describe("the coordinator transport shim", () => {
  it("carries the method, its arguments and the object's name, and answers the object's value", async () => {
    const { namespace, calls } = fakeNamespace((method) => (method === "record" ? { id: "p1", epoch: 1, at: 5 } : { epoch: 1 }));
    const counts = emptyCallCounts();
    const seen: Request[] = [];
    const stub = wired(namespace, counts, seen);
    const purge = { id: "p1", at: 5, soft: false, items: { tags: ["a"] }, kind: "tags", count: 1 };
    expect(await stub.record(purge)).toEqual({ id: "p1", epoch: 1, at: 5 });
    expect(await stub.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: 10 })).toEqual({ epoch: 1 });
    expect(calls).toEqual([
      { name: "purge-ledger:v1", method: "record", args: [purge] },
      { name: "purge-ledger:v1", method: "poll", args: [{ colo: "FRA", seenEpoch: 0, seenAt: 0, now: 10 }] },
    ]);
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual(["POST http://coordinator.test/rpc", "POST http://coordinator.test/rpc"]);
    expect(counts).toMatchObject({ record: 1, poll: 1, receipt: 0, pollsByColo: { FRA: 1 }, failed: 0 });
  });

  it("answers undefined when the object answers nothing (a receipt for an unknown purge)", async () => {
    const { namespace } = fakeNamespace(() => undefined);
    expect(await wired(namespace, emptyCallCounts()).receipt("nope", 10, 600_000)).toBeUndefined();
  });

  it("rejects with the object's message when the object throws, and counts the failure", async () => {
    const { namespace } = fakeNamespace(() => {
      throw new Error("storage is down");
    });
    const counts = emptyCallCounts();
    await expect(wired(namespace, counts).poll({ colo: "SYD", seenEpoch: 0, seenAt: 0, now: 1 })).rejects.toThrow("storage is down");
    expect(counts.failed).toBe(1);
  });

  it("refuses a method the client never calls, and a malformed body, without reaching the object", async () => {
    const { namespace, calls } = fakeNamespace(() => "reached");
    const counts = emptyCallCounts();
    const post = (body: string) => answerCoordinatorCall(new Request("http://coordinator.test/rpc", { method: "POST", body }), namespace, counts);
    expect((await post(JSON.stringify({ name: "x", method: "fetch", args: [] }))).status).toBe(400);
    expect((await post(JSON.stringify({ name: "x", method: "poll" }))).status).toBe(400);
    expect((await post("not json")).status).toBe(400);
    expect(calls).toEqual([]);
    expect(counts).toMatchObject({ record: 0, receipt: 0, poll: 0 });
  });
});

describe("the pool health transport shim", () => {
  it("carries report and demotions with the calling location, counts them per location, and offers no other method", async () => {
    const { namespace, calls } = fakeNamespace((method) => (method === "demotions" ? { "eu-1@http://a": 5 } : undefined));
    const counts = emptyObjectCallCounts();
    const seen: string[] = [];
    const remote = remotePoolHealthNamespace("http://coordinator.test", "FRA", async (url, init) => {
      seen.push(url);
      return answerObjectCall(new Request(url, init), namespace, POOL_HEALTH_METHODS, counts);
    });
    const stub = remote.get(remote.idFromName("pool-health:v1:eu")) as unknown as HealthStub & Record<string, unknown>;
    expect(await stub.report({ origin: "eu-1@http://a", colo: "FRA", at: 1 })).toBeUndefined();
    expect(await stub.demotions({ now: 2, windowMs: 30_000, minLocations: 2 })).toEqual({ "eu-1@http://a": 5 });
    expect(stub.poll).toBeUndefined();
    expect(calls.map((call) => `${call.name} ${call.method}`)).toEqual(["pool-health:v1:eu report", "pool-health:v1:eu demotions"]);
    expect(seen).toEqual(["http://coordinator.test/rpc/pool-health", "http://coordinator.test/rpc/pool-health"]);
    expect(counts).toEqual({ byMethod: { report: 1, demotions: 1 }, byColo: { FRA: { report: 1, demotions: 1 } }, failed: 0 });
  });

  it("refuses the purge coordinator's methods on the pool health path", async () => {
    const { namespace, calls } = fakeNamespace(() => "reached");
    const response = await answerObjectCall(new Request("http://coordinator.test/rpc/pool-health", { method: "POST", body: JSON.stringify({ name: "x", method: "poll", args: [] }) }), namespace, POOL_HEALTH_METHODS, emptyObjectCallCounts());
    expect(response.status).toBe(400);
    expect(calls).toEqual([]);
  });
});

describe("the real coordinator behind the transport (sim/coordinator-worker.ts)", () => {
  let coordinator: { mf: { dispose(): Promise<void> }; url: string };

  beforeAll(async () => {
    const name = "sim-coordinator-test";
    coordinator = await startWorker(
      name,
      bundleWorker(name, { entry: "sim/coordinator-worker.ts" }),
      {
        OUTPOST_PURGE_COORDINATOR: { type: "durable-object", worker: name, exportName: "PurgeCoordinator" },
        OUTPOST_POOL_HEALTH: { type: "durable-object", worker: name, exportName: "PoolHealth" },
      },
      { workerConfig: { exports: { PurgeCoordinator: { type: "durable-object", storage: "sqlite" }, PoolHealth: { type: "durable-object", storage: "sqlite" } } } },
    );
  }, 60_000);
  afterAll(() => coordinator?.mf.dispose());

  it("records, hands the ledger to a polling location, fills the receipt and counts the calls", async () => {
    const remote = remoteCoordinatorNamespace(coordinator.url);
    const stub = remote.get(remote.idFromName("purge-ledger:v1")) as unknown as Stub;
    const at = 1_000_000;
    expect(await stub.record({ id: "p1", at, soft: false, items: { tags: ["t"] }, kind: "tags", count: 1 })).toEqual({ id: "p1", epoch: 1, at });
    const first = (await stub.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: at + 100 })) as { epoch: number; ledger?: unknown };
    expect(first.epoch).toBe(1);
    expect(first.ledger).toBeDefined();
    await stub.poll({ colo: "FRA", seenEpoch: 1, seenAt: at + 100, now: at + 1_100 });
    await stub.poll({ colo: "SYD", seenEpoch: 0, seenAt: 0, now: at + 1_200 });
    const receipt = (await stub.receipt("p1", at + 1_300, 600_000)) as { locations: { colo: string; observed_at?: number }[] };
    expect(receipt.locations).toEqual([
      { colo: "FRA", epoch: 1, last_poll_at: at + 1_100, observed_at: at + 100 },
      { colo: "SYD", epoch: 0, last_poll_at: at + 1_200 },
    ]);
    expect(await stub.receipt("unknown", at, 600_000)).toBeUndefined();
    // Another name is another object, with its own (empty) ledger.
    const other = remote.get(remote.idFromName("purge-ledger:v2")) as unknown as Stub;
    expect(await other.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: at })).toEqual({ epoch: 0 });
    const stats = (await (await fetch(`${coordinator.url}/stats`)).json()) as CoordinatorCallCounts;
    expect(stats).toMatchObject({ record: 1, poll: 4, receipt: 2, pollsByColo: { FRA: 3, SYD: 1 }, failed: 0 });
  }, 30_000);

  it("demotes an origin reported by two locations in the real PoolHealth, and counts the calls per location", async () => {
    const at = 5_000_000;
    const stubAt = (colo: string) => {
      const remote = remotePoolHealthNamespace(coordinator.url, colo);
      return remote.get(remote.idFromName("pool-health:v1:eu")) as unknown as HealthStub;
    };
    const query = { now: at + 100, windowMs: 4_000, minLocations: 2 };
    await stubAt("FRA").report({ origin: "eu-1@http://a", colo: "FRA", at });
    expect(await stubAt("IAD").demotions(query)).toEqual({});
    await stubAt("LHR").report({ origin: "eu-1@http://a", colo: "LHR", at: at + 50 });
    expect(await stubAt("IAD").demotions(query)).toEqual({ "eu-1@http://a": at + 4_000 });
    const stats = (await (await fetch(`${coordinator.url}/stats`)).json()) as { poolHealth: ObjectCallCounts };
    expect(stats.poolHealth).toEqual({ byMethod: { report: 2, demotions: 2 }, byColo: { FRA: { report: 1 }, LHR: { report: 1 }, IAD: { demotions: 2 } }, failed: 0 });
  }, 30_000);
});

// The simulator's purge-coordinator transport (sim/coordinator-transport.ts): a stub from the stand-in
// namespace carries record / receipt / poll, their arguments and the object's name to the coordinator
// worker, and brings back the object's answer, its absence or its failure; the worker refuses anything
// else. The last test runs the real PurgeCoordinator (sim/coordinator-worker.ts on Miniflare, SQLite
// storage) behind a loopback HTTP round trip, as `npm run sim -- --coordination` does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleWorker, startWorker } from "../../scripts/worker-bundle.mjs";
import { answerCoordinatorCall, emptyCallCounts, remoteCoordinatorNamespace, type CoordinatorCallCounts } from "../../sim/coordinator-transport.ts";

type Stub = Record<"record" | "receipt" | "poll", (...args: unknown[]) => Promise<unknown>>;

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

describe("the real coordinator behind the transport (sim/coordinator-worker.ts)", () => {
  let coordinator: { mf: { dispose(): Promise<void> }; url: string };

  beforeAll(async () => {
    const name = "sim-coordinator-test";
    coordinator = await startWorker(
      name,
      bundleWorker(name, { entry: "sim/coordinator-worker.ts" }),
      { OUTPOST_PURGE_COORDINATOR: { type: "durable-object", worker: name, exportName: "PurgeCoordinator" } },
      { workerConfig: { exports: { PurgeCoordinator: { type: "durable-object", storage: "sqlite" } } } },
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
});

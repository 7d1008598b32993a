// The simulator's report (sim/report.mjs): how a response is counted (tier, stale, failover), the
// `--quick` gate, and the projected monthly cost at Cloudflare's published prices.
import { describe, expect, it } from "vitest";
import { checkRun, classifyCacheStatus, countResponse, describeConvergence, describeCoordinatorCalls, emptyLocationStats, finishLocationStats, projectMonthlyCost, sumStats } from "../../sim/report.mjs";

describe("counting a response", () => {
  it.each([
    ["Outpost; hit; ttl=30; detail=memory", { kind: "hit", tier: "memory" }],
    ["Outpost; hit; ttl=30; detail=colo", { kind: "hit", tier: "colo" }],
    ["Outpost; hit; ttl=30; detail=kv", { kind: "hit", tier: "kv" }],
    ["Outpost; hit; ttl=-3; detail=colo:stale-while-revalidate", { kind: "stale-swr", tier: "colo" }],
    ["Outpost; fwd=stale; ttl=-5; detail=stale-if-error", { kind: "stale-sie" }],
    ["Outpost; fwd=miss; collapsed; ttl=30; detail=collapsed", { kind: "collapsed" }],
    ["Outpost; fwd=bypass; detail=cookie", { kind: "bypass" }],
    ["Outpost; fwd=miss; fwd-status=200; detail=recently-uncacheable:no-store", { kind: "bypass" }],
    ["Outpost; fwd=miss; fwd-status=200; stored", { kind: "miss", fwd: "miss" }],
    ["Outpost; fwd=miss; fwd-status=200; detail=purged", { kind: "miss", fwd: "miss" }],
  ])("reads %s", (header, expected) => {
    expect(classifyCacheStatus(header)).toEqual(expected);
  });

  it("counts hits by tier, stale served, failovers and errors", () => {
    const stats = emptyLocationStats();
    countResponse(stats, { status: 200, cacheStatus: "Outpost; hit; detail=memory", upstream: null, latencyMs: 1 }, "eu");
    countResponse(stats, { status: 200, cacheStatus: "Outpost; hit; detail=kv:stale-while-revalidate", upstream: null, latencyMs: 2 }, "eu");
    countResponse(stats, { status: 200, cacheStatus: "Outpost; fwd=miss; stored", upstream: 'route="site", pool="us", origin="us-1", steering="geo", reason="continent:EU", attempts=2', latencyMs: 30 }, "eu");
    countResponse(stats, { status: 200, cacheStatus: "Outpost; fwd=miss; stored", upstream: 'route="site", pool="eu", origin="eu-1", steering="geo", reason="continent:EU", attempts=1', latencyMs: 20 }, "eu");
    countResponse(stats, { status: 502, cacheStatus: "Outpost; fwd=miss", upstream: null, latencyMs: 40 }, "eu");
    expect(stats).toMatchObject({ requests: 5, hits: { memory: 1, kv: 1 }, staleServed: { staleWhileRevalidate: 1 }, misses: 3, failovers: 1, errors: 1, errorStatuses: { 502: 1 } });
    // A second origin of the same pool answered: a failover too.
    countResponse(stats, { status: 200, cacheStatus: "Outpost; fwd=miss; stored", upstream: 'route="site", pool="eu", origin="eu-2", steering="geo", reason="continent:EU", attempts=2', latencyMs: 20 }, "eu");
    expect(stats.failovers).toBe(2);
    const finished = finishLocationStats(stats);
    expect(finished.hitRatio).toBe(0.3333);
    expect(finished.hitRatioByTier).toEqual({ memory: 0.1667, colo: 0, kv: 0.1667 });
    expect(finishLocationStats(sumStats([stats, stats])).requests).toBe(12);
  });
});

describe("the quick gate", () => {
  const healthy = () => ({
    locations: { FRA: finishLocationStats({ ...emptyLocationStats(), requests: 10 }) },
    purges: [{ label: "URL /x (hard)", boundMs: 10_000, convergenceMs: { FRA: 0 } }],
  });

  it("passes a healthy run", () => {
    expect(checkRun(healthy())).toEqual([]);
  });

  it("fails a location that errored", () => {
    const run = healthy();
    run.locations.FRA.errors = 2;
    expect(checkRun(run)).toEqual([expect.stringContaining("FRA: 2 error responses")]);
  });

  it("fails hits for objects no origin had served yet", () => {
    const run = healthy();
    run.locations.FRA.impossibleHits = 1;
    expect(checkRun(run)[0]).toContain("no origin had served yet");
  });

  it("fails a purge slower than its bound, or one that never converged", () => {
    const slow = healthy();
    slow.purges[0]!.convergenceMs = { FRA: 10_001 };
    expect(checkRun(slow)[0]).toContain("bound 10000 ms");
    const never = healthy();
    never.purges[0]!.convergenceMs = { FRA: null as unknown as number };
    expect(checkRun(never)[0]).toContain("still served the purged copy");
    const atBound = healthy();
    atBound.purges[0]!.convergenceMs = { FRA: 10_000 };
    expect(checkRun(atBound)).toEqual([]);
  });

  it("with the coordinator, fails a purge whose receipt still has a location pending or did not answer", () => {
    const complete = { ...healthy(), purges: [{ ...healthy().purges[0]!, receipt: { status: 200, complete: true, observed: [{ colo: "FRA" }], pending: [] as string[] } }] };
    expect(checkRun(complete)).toEqual([]);
    const pending = structuredClone(complete);
    Object.assign(pending.purges[0]!.receipt, { complete: false, pending: ["SYD"] });
    expect(checkRun(pending)[0]).toContain("receipt is not complete");
    const refused = structuredClone(complete);
    Object.assign(refused.purges[0]!.receipt, { status: 409 });
    expect(checkRun(refused)[0]).toContain("receipt is not complete");
  });
});

describe("the purge figures", () => {
  it("takes p50, p99 and the worst over every location of every purge, and counts the ones that never converged", () => {
    const purges = [{ convergenceMs: { FRA: 0, IAD: 400, SYD: null } }, { convergenceMs: { FRA: 100, IAD: 1_200, SYD: 900 } }];
    expect(describeConvergence(purges)).toEqual({ samples: 5, missed: 1, p50Ms: 400, p99Ms: 1_200, maxMs: 1_200 });
    expect(describeConvergence([])).toEqual({ samples: 0, missed: 0, p50Ms: null, p99Ms: null, maxMs: null });
  });

  it("turns the coordinator's counts into polls per location per second", () => {
    const calls = describeCoordinatorCalls({ record: 2, receipt: 2, poll: 30, pollsByColo: { FRA: 20, SYD: 10 }, failed: 0 }, ["FRA", "SYD", "IAD"], 20);
    expect(calls.pollsPerLocationPerSecond).toEqual({ FRA: 1, SYD: 0.5, IAD: 0 });
    expect(calls.meanPollsPerLocationPerSecond).toBe(0.5);
    expect(calls.callsPerSecond).toBe(1.7);
  });
});

describe("the projected monthly cost", () => {
  it("prices KV operations per request and Workers requests beyond the included amounts", () => {
    const cost = projectMonthlyCost({ requests: 1_000, kvOps: { get: 500, put: 20, delete: 0, list: 1 } }, 100_000_000);
    expect(cost.lines.workersRequests).toEqual({ volume: 100_000_000, usd: 27 }); // (100M - 10M) x $0.30/M
    expect(cost.lines.kvReads).toEqual({ volume: 50_000_000, usd: 20 }); // (50M - 10M) x $0.50/M
    expect(cost.lines.kvWrites).toEqual({ volume: 2_000_000, usd: 5 }); // (2M - 1M) x $5/M
    expect(cost.lines.kvLists).toEqual({ volume: 100_000, usd: 0 });
    expect(cost.totalUsd).toBe(57); // + $5 Workers Paid
  });
});

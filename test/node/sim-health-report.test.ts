// What `npm run sim -- --shared-health` reports about an origin outage (sim/health-report.mjs): per
// location, the requests that tried the dead origin first and the ones that skipped it (from
// Outpost-Upstream's pool and attempts), when its status showed the circuit open and the shared
// demotion, and the gate: every location with a miss after the second circuit opened learns the
// demotion within the bound.
import { describe, expect, it } from "vitest";
import { checkSharedHealth, describeHealthOutage, healthBoundMs, healthRows, watchOriginHealth } from "../../sim/health-report.mjs";

const FIRST_POOL: Record<string, string> = { FRA: "eu", LHR: "eu", IAD: "us" };
const expectedPoolOf = (colo: string) => FIRST_POOL[colo]!;
const downAt = 10_000;

function outage(seen: Record<string, { circuitOpenAt?: number; sharedDemotedAt?: number; unavailableAt?: number }>) {
  return { origin: "eu-1", pool: "eu", downAt, upAt: downAt + 8_000, watch: { seen } };
}

describe("an outage's figures per location", () => {
  const answers = [
    { colo: "FRA", sentAt: downAt + 100, latencyMs: 30, pool: "us", attempts: 2 },
    { colo: "FRA", sentAt: downAt + 200, latencyMs: 10, pool: "us", attempts: 2 },
    { colo: "FRA", sentAt: downAt + 900, latencyMs: 8, pool: "us", attempts: 1 },
    { colo: "FRA", sentAt: downAt + 950, latencyMs: 2 },
    { colo: "FRA", sentAt: downAt - 50, latencyMs: 5, pool: "eu", attempts: 1 },
    { colo: "LHR", sentAt: downAt + 300, latencyMs: 12, pool: "us-direct", attempts: 2 },
    { colo: "IAD", sentAt: downAt + 400, latencyMs: 9, pool: "us", attempts: 1 },
  ];

  it("counts dead-first and skipped requests only where the dead pool comes first, in the outage's window", () => {
    const health = describeHealthOutage(outage({ FRA: { circuitOpenAt: downAt + 250, unavailableAt: downAt + 400 }, LHR: { circuitOpenAt: downAt + 700, sharedDemotedAt: downAt + 1_500 } }), answers, ["FRA", "LHR", "IAD"], { expectedPoolOf, boundMs: 2_700 });
    expect(health.perLocation.FRA).toMatchObject({ requests: 4, forwarded: 3, deadFirst: 2, skipped: 1, circuitOpenMs: 250, stoppedTryingFirstMs: 400, firstSkipMs: 900, lastDeadFirstMs: 200, sharedDemotedMs: null, p95Ms: 30 });
    expect(health.perLocation.LHR).toMatchObject({ deadFirst: 1, skipped: 0, sharedDemotedMs: 500 + 1_000 });
    expect(health.perLocation.IAD).toMatchObject({ forwarded: 1, deadFirst: 0, skipped: 0, circuitOpenMs: null });
    expect(health).toMatchObject({ deadPoolFirst: ["FRA", "LHR"], circuitsOpened: 2, firstCircuitOpenMs: 250, secondCircuitOpenMs: 700, totals: { deadFirst: 3, skipped: 1, forwarded: 4 } });
    expect(healthRows(health).at(-1)).toEqual(["eu-first", "eu", 4, 3, 1, "", "", "", "", "", ""]);
  });
});

describe("the shared-health gate", () => {
  const bound = healthBoundMs();
  const result = (perLocation: Record<string, { sharedDemotedMs: number | null; forwardedSentMs: number[] }>, secondCircuitOpenMs: number | null = 1_000) => ({
    sharedHealth: { pollIntervalMs: 1_000, openSeconds: 4 },
    outages: [{ health: { origin: "eu-1", durationMs: 15_000, deadPoolFirst: ["FRA", "LHR"], circuitsOpened: secondCircuitOpenMs === null ? 1 : 2, firstCircuitOpenMs: 800, secondCircuitOpenMs, boundMs: bound, perLocation } }],
  });

  it("passes when every location with a miss a poll interval after the second circuit opened shows the demotion in time", () => {
    expect(checkSharedHealth(result({ FRA: { sharedDemotedMs: 2_600, forwardedSentMs: [500, 1_900, 2_550] }, IAD: { sharedDemotedMs: null, forwardedSentMs: [300] } }))).toEqual([]);
  });

  it("fails a location that never showed it, or showed it later than its miss plus the bound", () => {
    const problems = checkSharedHealth(result({ FRA: { sharedDemotedMs: null, forwardedSentMs: [2_500] }, IAD: { sharedDemotedMs: 2_500 + bound + 1, forwardedSentMs: [2_500] } }));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("FRA learned eu-1's demotion never");
  });

  it("does not judge a miss after the demotion may have lapsed (open_seconds after the first circuit opened)", () => {
    expect(checkSharedHealth(result({ FRA: { sharedDemotedMs: null, forwardedSentMs: [4_500] } }))).toEqual([]);
  });

  it("fails when the dead pool came first at two locations but fewer than two circuits opened", () => {
    expect(checkSharedHealth(result({}, null))).toEqual([expect.stringContaining("fewer than 2 locations' circuits opened")]);
  });
});

describe("watching the locations' status", () => {
  it("notes the first time each location showed the circuit open, the demotion and the origin unavailable", async () => {
    let reads = 0;
    const status = (open: boolean, demoted: boolean) => ({
      health: { pools: [{ name: "eu", origins: [{ origin: "eu-1", available: !(open || demoted), shared_demoted: demoted, circuit: open ? { state: "open", opened_at: new Date(1_234).toISOString() } : { state: "closed" } }] }] },
      shared_health: { polls: 3, reports: 1, failures: 0 },
    });
    const watch = watchOriginHealth({
      colos: ["FRA"],
      origin: "eu-1",
      intervalMs: 1,
      readStatus: async () => {
        reads += 1;
        return status(reads >= 2, reads >= 3);
      },
    });
    while (reads < 4) await new Promise((resolve) => setTimeout(resolve, 2));
    await watch.stop();
    expect(watch.seen.FRA).toMatchObject({ circuitOpenAt: 1_234, sharedStats: { polls: 3, reports: 1, failures: 0 }, failedReads: 0 });
    expect(watch.seen.FRA.sharedDemotedAt).toBeGreaterThanOrEqual(watch.seen.FRA.unavailableAt);
  });
});

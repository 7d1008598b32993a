// What `npm run sim -- --shield` reports about the origin shield (sim/shield-report.mjs): the shield's
// outcome from Server-Timing, a fallback from Cache-Status, the split of objects between the shielded
// route and the KV-only baseline, origin requests per distinct object per TTL window, what the traffic
// saw while a fault was in force, and the quick gate's shield checks.
import { describe, expect, it } from "vitest";
import { countResponse, emptyLocationStats, finishLocationStats, sumStats } from "../../sim/report.mjs";
import { checkShield, describeFaultWindow, fetchesPerTtlWindow, isShieldBypass, isShieldedPath, readShieldPhase, shieldRows } from "../../sim/shield-report.mjs";

describe("reading the shield from a response", () => {
  it("takes the shield phase's outcome and duration from Server-Timing", () => {
    expect(readShieldPhase('cache;desc="miss", shield;dur=12.5;desc="collapsed", origin;dur=20')).toEqual({ desc: "collapsed", durMs: 12.5 });
    expect(readShieldPhase('shield;desc="bypass";dur=3')).toEqual({ desc: "bypass", durMs: 3 });
    expect(readShieldPhase("origin;dur=20")).toBeNull();
    expect(readShieldPhase(null)).toBeNull();
  });

  it("recognises a fallback past a failed shield", () => {
    expect(isShieldBypass("Outpost; fwd=miss; fwd-status=200; stored; detail=shield-bypass")).toBe(true);
    expect(isShieldBypass('Outpost; fwd=miss; detail="shield-bypass"')).toBe(true);
    expect(isShieldBypass("Outpost; fwd=miss; stored")).toBe(false);
    expect(isShieldBypass(null)).toBe(false);
  });

  it("counts fallbacks and outcomes per location and in total", () => {
    const stats = emptyLocationStats();
    countResponse(stats, { status: 200, cacheStatus: "Outpost; fwd=miss; stored; detail=shield-bypass", serverTiming: 'shield;dur=1;desc="bypass"', latencyMs: 5 }, "eu");
    countResponse(stats, { status: 200, cacheStatus: "Outpost; fwd=miss; stored", serverTiming: 'shield;dur=9;desc="hit"', latencyMs: 5 }, "eu");
    countResponse(stats, { status: 200, cacheStatus: "Outpost; hit; detail=memory", latencyMs: 1 }, "eu");
    expect(stats).toMatchObject({ shieldBypass: 1, shieldOutcomes: { bypass: 1, hit: 1 } });
    expect(finishLocationStats(sumStats([stats, stats]))).toMatchObject({ shieldBypass: 2, shieldOutcomes: { bypass: 2, hit: 2 } });
  });
});

describe("origin requests per distinct object per TTL window", () => {
  it("splits catalogue objects by rank: even through the shield, odd KV-only", () => {
    expect(["/c/page/0", "/c/asset/1", "/c/image/2", "/c/feed/13"].map(isShieldedPath)).toEqual([true, false, true, false]);
    expect(isShieldedPath("/some/replayed/path")).toBe(isShieldedPath("/some/replayed/path"));
  });

  it("opens a window at a fetch, counts later fetches inside it as duplicates, and leaves probes, personalised and uncacheable requests out", () => {
    // scale 60: a page (60 s) lives 1 s, an image (3,600 s) 60 s.
    const log = [
      { path: "/c/page/0", at: 0 },
      { path: "/c/page/0", at: 400 }, // duplicate inside [0, 1000)
      { path: "/c/page/0", at: 1000 }, // opens [1000, 2000)
      { path: "/c/page/0", at: 2500 }, // opens [2500, 3500)
      { path: "/c/page/0", at: 100, probe: true },
      { path: "/c/page/0", at: 200, personal: true },
      { path: "/api/cart/1", at: 50 },
      { path: "/c/image/1", at: 0 },
      { path: "/c/image/1", at: 30_000 },
      { path: "/c/image/1", at: 59_999 },
      { path: "/c/asset/burst-shield-1", at: 5 },
    ];
    const groups = fetchesPerTtlWindow(log, { scale: 60, groupOf: (path: string) => (isShieldedPath(path) ? "shield" : "kvOnly"), exclude: (path: string) => path.includes("/burst-") });
    expect(groups).toEqual({
      shield: { objects: 1, originRequests: 4, objectWindows: 3, ratio: 1.333 },
      kvOnly: { objects: 1, originRequests: 3, objectWindows: 1, ratio: 3 },
    });
  });

  it("ends an object's window at a purge of it (or of everything), and leaves out what was fetched while the shield failed", () => {
    // scale 60: an image lives 60 s.
    const log = [
      { path: "/c/image/2", at: 0 },
      { path: "/c/image/2", at: 10_000 }, // after a purge of the object: a new window
      { path: "/c/image/2", at: 20_000 }, // a duplicate
      { path: "/c/image/2", at: 35_000 }, // after a purge of everything: a new window
      { path: "/c/image/4", at: 0 },
      { path: "/c/image/4", at: 41_000 }, // while the shield failed: left out
    ];
    const options = { scale: 60, groupOf: () => "shield", purges: [{ at: 5_000, paths: ["/c/image/2"] }, { at: 30_000, paths: null }], skipped: [{ fromAt: 40_000, toAt: 42_000 }] };
    expect(fetchesPerTtlWindow(log, options)).toEqual({ shield: { objects: 2, originRequests: 5, objectWindows: 4, ratio: 1.25 }, leftOut: 1 });
  });

  it("per origin, counts an object at each origin server apart", () => {
    const log = [
      { path: "/c/page/0", origin: "eu-1", at: 0 },
      { path: "/c/page/0", origin: "us-1", at: 100 },
      { path: "/c/page/0", origin: "us-1", at: 200 },
    ];
    const options = { scale: 60, groupOf: () => "shield" };
    expect(fetchesPerTtlWindow(log, options).shield).toMatchObject({ objects: 1, originRequests: 3, objectWindows: 1 });
    expect(fetchesPerTtlWindow(log, { ...options, perOrigin: true }).shield).toMatchObject({ objects: 2, originRequests: 3, objectWindows: 2, ratio: 1.5 });
  });
});

describe("the shield's failure windows and the quick gate", () => {
  const answers = [
    { colo: "FRA", sentAt: 100, error: false, shieldBypass: true, shieldOutcome: "bypass", latencyMs: 30 },
    { colo: "FRA", sentAt: 150, error: false, shieldBypass: false, latencyMs: 1 },
    { colo: "SYD", sentAt: 180, error: true, shieldBypass: false, latencyMs: 50 },
    { colo: "SYD", sentAt: 300, error: true, shieldBypass: false, latencyMs: 50 }, // after the window
  ];

  it("counts requests, failures and fallbacks sent while the fault was in force", () => {
    const window = describeFaultWindow({ label: "shield answers 500", fromAt: 100, toAt: 200, fromSimSeconds: 80, toSimSeconds: 105 }, answers, ["FRA", "SYD"]);
    expect(window).toMatchObject({ requests: 3, failed: 1, bypass: 1, outcomes: { bypass: 1 }, perLocation: { FRA: { requests: 2, failed: 0, bypass: 1 }, SYD: { requests: 1, failed: 1, bypass: 0 } } });
  });

  const healthy = () => ({
    burst: {
      rounds: [
        { round: 1, steering: "one pool", locations: 8, perLocation: 50, shield: { requests: 400, originRequests: 1, byOrigin: { "eu-1": 1 }, failed: 0 }, kvOnly: { requests: 400, originRequests: 8, byOrigin: { "eu-1": 8 }, failed: 0 } },
        { round: 1, steering: "geo", locations: 8, perLocation: 50, shield: { requests: 400, originRequests: 3, byOrigin: { "eu-1": 1, "us-1": 1, "apac-1": 1 }, failed: 0 }, kvOnly: { requests: 400, originRequests: 8, byOrigin: { "eu-1": 2, "us-1": 3, "apac-1": 3 }, failed: 0 } },
      ],
    },
    world: { shield: { objects: 10, originRequests: 21, objectWindows: 20, ratio: 1.05 }, kvOnly: { objects: 10, originRequests: 60, objectWindows: 20, ratio: 3 } },
    faults: [{ label: "shield answers 500", fromSimSeconds: 80, toSimSeconds: 105, requests: 60, failed: 0, bypass: 12 }],
  });

  it("passes a shield that held its targets, and tabulates it", () => {
    expect(checkShield(healthy())).toEqual([]);
    expect(checkShield(undefined)).toEqual([]);
    expect(shieldRows(healthy()).map((row) => row.at(-1))).toEqual(["met", "met", "met", "met"]);
    expect(shieldRows(healthy())[1].slice(1, 3)).toEqual(["3 (eu-1 1, us-1 1, apac-1 1)", "8 (eu-1 2, us-1 3, apac-1 3)"]);
  });

  it("fails a burst that reached the origin more than once, a failed client request while the shield failed, and a fault without fallback", () => {
    const run = healthy();
    run.burst.rounds[0].shield.originRequests = 3;
    run.burst.rounds[1].shield.byOrigin["us-1"] = 2;
    run.faults[0].failed = 2;
    expect(checkShield(run)).toEqual([expect.stringContaining("3 origin requests"), expect.stringContaining("2 origin requests at one origin"), expect.stringContaining("2 failed client requests")]);
    const silent = healthy();
    silent.faults[0].bypass = 0;
    expect(checkShield(silent)).toEqual([expect.stringContaining("no response fell back")]);
  });
});

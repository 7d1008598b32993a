import { describe, expect, it } from "vitest";
import { cacheOutcome, RequestStats } from "../../../src/observe/request-stats.ts";

describe("cacheOutcome", () => {
  it.each([
    [undefined, "uncached"],
    [{ hit: true, detail: "memory" }, "hit"],
    [{ hit: true, detail: "kv:stale-while-revalidate" }, "stale"],
    [{ fwd: "stale" as const, detail: "stale-if-error" }, "stale_if_error"],
    [{ fwd: "miss" as const, collapsed: true }, "collapsed"],
    [{ fwd: "bypass" as const }, "bypass"],
    [{ fwd: "method" as const }, "bypass"],
    [{ fwd: "vary-miss" as const }, "miss"],
  ])("%j -> %s", (status, expected) => {
    expect(cacheOutcome(status)).toBe(expected);
  });
});

describe("RequestStats", () => {
  it("counts outcomes, 5xx answers and hits by tier", () => {
    const stats = new RequestStats(0);
    stats.count({ hit: true, detail: "colo" }, 200);
    stats.count({ hit: true, detail: "colo:stale-while-revalidate" }, 200);
    stats.count(undefined, 502);
    expect(stats).toMatchObject({ requests: 3, errors: 1, hitsByTier: { colo: 2 } });
    expect(stats.outcomes).toMatchObject({ hit: 1, stale: 1, uncached: 1 });
  });
});

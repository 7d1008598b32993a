import { describe, expect, it } from "vitest";
import type { EntryTimes } from "../../../src/cache/freshness.ts";
import { invalidatedTimes, MAX_SOFT_INVALIDATIONS, SoftInvalidations, WindowBudget } from "../../../src/cache/soft-invalidations.ts";

const identity = (name: string) => () => name;

describe("SoftInvalidations", () => {
  it("invalidates entries stored before or in the millisecond of the mark, not after", () => {
    const marks = new SoftInvalidations();
    marks.mark("h/doc", 1_000);
    expect(marks.invalidatedAt(999, identity("h/doc"))).toBe(1_000);
    expect(marks.invalidatedAt(1_000, identity("h/doc"))).toBe(1_000);
    expect(marks.invalidatedAt(1_001, identity("h/doc"))).toBeUndefined();
    expect(marks.invalidatedAt(999, identity("h/other"))).toBeUndefined();
  });

  it("does not compute the identity for entries stored after the newest mark (the hot path)", () => {
    const marks = new SoftInvalidations();
    marks.mark("h/doc", 1_000);
    expect(marks.invalidatedAt(2_000, () => expect.unreachable("identity computed"))).toBeUndefined();
    expect(new SoftInvalidations().invalidatedAt(0, () => expect.unreachable("identity computed"))).toBeUndefined();
  });

  it("keeps at most MAX_SOFT_INVALIDATIONS marks, forgetting the oldest first", () => {
    const marks = new SoftInvalidations();
    for (let index = 0; index <= MAX_SOFT_INVALIDATIONS; index += 1) marks.mark(`h/${index}`, 1_000 + index);
    expect(marks.size).toBe(MAX_SOFT_INVALIDATIONS);
    expect(marks.invalidatedAt(0, identity("h/0"))).toBeUndefined();
    expect(marks.invalidatedAt(0, identity("h/1"))).toBe(1_001);
  });
});

describe("invalidatedTimes", () => {
  const times: EntryTimes = { storedAt: 0, initialAgeSeconds: 0, freshUntilAt: 60_000, staleWhileRevalidateUntilAt: 120_000, staleIfErrorUntilAt: 600_000, keepUntilAt: 600_000 };

  it("is stale from the mark, with no stale-while-revalidate window and stale-if-error counted from the mark", () => {
    expect(invalidatedTimes(times, 10_000)).toEqual({ ...times, freshUntilAt: 10_000, staleWhileRevalidateUntilAt: 10_000, staleIfErrorUntilAt: 550_000 });
  });

  it("closes the stale-while-revalidate window of an entry that was already stale", () => {
    expect(invalidatedTimes(times, 90_000)).toEqual({ ...times, staleWhileRevalidateUntilAt: 60_000 });
  });
});

describe("WindowBudget", () => {
  it("allows `limit` events per window, and opens again exactly when the window ends", () => {
    const budget = new WindowBudget(2, 10_000);
    expect([budget.take(0), budget.take(1), budget.take(2)]).toEqual([true, true, false]);
    expect(budget.take(9_999)).toBe(false);
    expect(budget.take(10_000)).toBe(true);
  });
});

describe("digestIdentity", () => {
  it("keeps marks small whatever the URL's length, and tells near URLs apart", async () => {
    const { digestIdentity } = await import("../../../src/cache/soft-invalidations.ts");
    expect(digestIdentity(`h/${"a".repeat(16_000)}`).length).toBeLessThanOrEqual(15);
    const digests = new Set(Array.from({ length: 50_000 }, (_, index) => digestIdentity(`www.example.com/p/${index}`)));
    expect(digests.size).toBe(50_000);
  });
});

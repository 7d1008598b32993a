// The isolate's fill budget: reservations, growth, release.
import { describe, expect, it } from "vitest";
import { FILL_BUDGET_BYTES, FillBudget } from "../../../src/cache/fill-budget.ts";

describe("FillBudget", () => {
  it("reserves up to its bytes and refuses the reservation that would exceed them", () => {
    const budget = new FillBudget(100);
    const a = budget.reserve(60);
    expect(a).toBeDefined();
    expect(budget.reserve(41)).toBeUndefined();
    const b = budget.reserve(40);
    expect(b).toBeDefined();
    expect(budget.usage).toEqual({ fills: 2, bytes: 100, peak_bytes: 100, max_bytes: 100 });
    expect(budget.reserve(0)).toBeDefined(); // nothing left, but nothing asked
  });

  it("gives the bytes back when a fill releases them, once", () => {
    const budget = new FillBudget(100);
    const a = budget.reserve(100)!;
    a.release();
    a.release();
    expect(budget.usage).toEqual({ fills: 0, bytes: 0, peak_bytes: 100, max_bytes: 100 });
    expect(budget.reserve(100)).toBeDefined();
  });

  it("grows a reservation within the budget, refuses growth beyond it, and always shrinks", () => {
    const budget = new FillBudget(100);
    const a = budget.reserve(10)!;
    budget.reserve(50);
    expect(a.resize(50)).toBe(true);
    expect(a.resize(51)).toBe(false);
    expect(a.bytes).toBe(50);
    expect(a.resize(5)).toBe(true);
    expect(budget.usage.bytes).toBe(55);
    a.release();
    expect(a.resize(10)).toBe(false); // released: nothing more is counted
    expect(budget.usage.bytes).toBe(50);
  });

  it("refuses a size that is not a number of bytes", () => {
    const budget = new FillBudget(100);
    expect(budget.reserve(Number.NaN)).toBeUndefined();
    expect(budget.reserve(-1)).toBeUndefined();
  });

  it("defaults to 32 MiB, a quarter of an isolate's 128 MB", () => {
    expect(new FillBudget().maxBytes).toBe(FILL_BUDGET_BYTES);
    expect(FILL_BUDGET_BYTES).toBe(32 * 1024 * 1024);
  });
});

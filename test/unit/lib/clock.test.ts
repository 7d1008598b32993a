// Timers go through the clock: the system clock's run on setTimeout, the test clock's on advance().
import { describe, expect, it } from "vitest";
import { systemClock } from "../../../src/lib/clock.ts";
import { TestClock } from "../../helpers/worker.ts";

describe("systemClock.timeout", () => {
  it("gives a signal aborted already for 0 ms, with a TimeoutError", () => {
    const { signal } = systemClock.timeout(0, "too late");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ name: "TimeoutError", message: "too late" });
  });

  it("never aborts once cancelled", async () => {
    const timer = systemClock.timeout(1);
    timer.cancel();
    await scheduler.wait(5);
    expect(timer.signal.aborted).toBe(false);
  });
});

describe("TestClock.timeout", () => {
  it("fires exactly when advance() reaches it, not before", () => {
    const clock = new TestClock();
    const { signal } = clock.timeout(1_000);
    clock.advance(999);
    expect(signal.aborted).toBe(false);
    clock.advance(1);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe("TimeoutError");
    expect(clock.pendingTimers()).toBe(0);
  });

  it("fires due timers in order and forgets cancelled ones", () => {
    const clock = new TestClock();
    const fired: string[] = [];
    const late = clock.timeout(300);
    const early = clock.timeout(100);
    const cancelled = clock.timeout(200);
    late.signal.addEventListener("abort", () => fired.push("late"));
    early.signal.addEventListener("abort", () => fired.push("early"));
    cancelled.cancel();
    clock.advance(1_000);
    expect(fired).toEqual(["early", "late"]);
    expect(cancelled.signal.aborted).toBe(false);
  });
});

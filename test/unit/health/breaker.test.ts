import { describe, expect, it } from "vitest";
import { CLOSED, isAdmitting, onAttempt, onConnectionFailure, onErrorStatus, onSuccess, type BreakerPolicy, type BreakerState } from "../../../src/health/breaker.ts";

const policy: BreakerPolicy = {
  consecutiveFailures: 3,
  openMs: 30_000,
  statusWindowMs: 60_000,
  statusMinimumRequests: 10,
  statusFailureRatio: 0.5,
  statusMinimumPaths: 3,
};

function failTimes(times: number, now = 0): BreakerState {
  let state: BreakerState = CLOSED;
  for (let i = 0; i < times; i += 1) state = onConnectionFailure(state, now, policy);
  return state;
}

/** Applies answers in order: a number is an error status on that path, "ok" a good answer. */
function answer(sequence: Array<number | "ok">, now = 0, start: BreakerState = CLOSED): BreakerState {
  let state = start;
  for (const step of sequence) state = step === "ok" ? onSuccess(state, now, policy) : onErrorStatus(state, now, policy, step);
  return state;
}

describe("circuit breaker: connection failures and timeouts", () => {
  it("stays closed below the failure threshold", () => {
    expect(failTimes(2)).toEqual({ kind: "closed", consecutiveFailures: 2 });
  });

  it("opens at the threshold of consecutive failures", () => {
    expect(failTimes(3, 1_000)).toEqual({ kind: "open", openedAt: 1_000 });
  });

  it("counts only consecutive failures: a success resets the count", () => {
    let state = failTimes(2);
    state = onSuccess(state, 0, policy);
    state = onConnectionFailure(state, 0, policy);
    expect(state).toMatchObject({ kind: "closed", consecutiveFailures: 1 });
  });

  it("neither resets nor adds to the count on an error status (the origin was reachable)", () => {
    let state = failTimes(2);
    state = onErrorStatus(state, 0, policy, 1);
    expect(state).toMatchObject({ kind: "closed", consecutiveFailures: 2 });
    expect(onConnectionFailure(state, 5, policy)).toEqual({ kind: "open", openedAt: 5 });
  });

  it("refuses requests until exactly open_seconds have passed", () => {
    const open = failTimes(3, 1_000);
    expect(isAdmitting(open, 1_000 + 29_999, policy)).toBe(false);
    expect(isAdmitting(open, 1_000 + 30_000, policy)).toBe(true);
  });

  it("lets one trial through after the cool-down and holds others back", () => {
    const trial = onAttempt(failTimes(3, 0), 30_000, policy);
    expect(trial).toEqual({ kind: "half_open", trialStartedAt: 30_000 });
    expect(isAdmitting(trial, 30_001, policy)).toBe(false);
  });

  it("closes when the trial succeeds", () => {
    expect(onSuccess({ kind: "half_open", trialStartedAt: 0 }, 1, policy)).toEqual(CLOSED);
  });

  it("re-opens with a fresh cool-down when the trial fails, by connection or by status", () => {
    expect(onConnectionFailure({ kind: "half_open", trialStartedAt: 30_000 }, 30_500, policy)).toEqual({ kind: "open", openedAt: 30_500 });
    expect(onErrorStatus({ kind: "half_open", trialStartedAt: 30_000 }, 30_500, policy, 7)).toEqual({ kind: "open", openedAt: 30_500 });
  });

  it("allows a new trial when the previous one never reported back", () => {
    const trial: BreakerState = { kind: "half_open", trialStartedAt: 30_000 };
    expect(isAdmitting(trial, 59_999, policy)).toBe(false);
    expect(isAdmitting(trial, 60_000, policy)).toBe(true);
  });

  it("does not change a closed circuit on attempt, nor an open one before its time", () => {
    expect(onAttempt(CLOSED, 5, policy)).toBe(CLOSED);
    const open: BreakerState = { kind: "open", openedAt: 0 };
    expect(onAttempt(open, 10, policy)).toBe(open);
  });
});

describe("circuit breaker: error statuses only in bulk", () => {
  it("stays closed however often one path fails", () => {
    const state = answer(Array(100).fill(1));
    expect(state).toMatchObject({ kind: "closed", window: { answers: 100, errors: 100, errorPaths: [1] } });
  });

  it("opens once the window holds the minimum answers, the failure ratio and the distinct paths", () => {
    const nine = answer([1, 2, 3, 1, 2, 3, 1, 2, 3], 500);
    expect(nine.kind).toBe("closed"); // 9 answers: under the minimum volume
    expect(answer([1], 500, nine)).toEqual({ kind: "open", openedAt: 500 });
  });

  it("stays closed while errors are under the failure ratio", () => {
    // 4 errors on 3 paths among 10 answers: 0.4 < 0.5.
    const state = answer(["ok", "ok", "ok", "ok", "ok", "ok", 1, 2, 3, 1]);
    expect(state.kind).toBe("closed");
    // The fifth error makes 5 of 11 (0.45), the sixth 6 of 12 (0.5): open.
    expect(answer([2], 0, state).kind).toBe("closed");
    expect(answer([2, 3], 0, state).kind).toBe("open");
  });

  it("stays closed with errors on fewer distinct paths than required", () => {
    expect(answer([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]).kind).toBe("closed");
  });

  it("starts a new window once status_window_seconds have passed", () => {
    const old = answer([1, 2, 3, 1, 2, 3, 1, 2, 3], 0);
    expect(answer([1], 59_999, old).kind).toBe("open");
    const fresh = answer([1], 60_000, old);
    expect(fresh).toMatchObject({ kind: "closed", window: { startedAt: 60_000, answers: 1, errors: 1 } });
  });

  it("keeps the state plain data that survives JSON", () => {
    const state = answer([1, "ok", 2], 42);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});

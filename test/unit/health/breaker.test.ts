import { describe, expect, it } from "vitest";
import { CLOSED, isAdmitting, onAttempt, onFailure, onSuccess, type BreakerState } from "../../../src/health/breaker.ts";

const policy = { consecutiveFailures: 3, openMs: 30_000 };

function failTimes(times: number, now = 0): BreakerState {
  let state: BreakerState = CLOSED;
  for (let i = 0; i < times; i += 1) state = onFailure(state, now, policy);
  return state;
}

describe("circuit breaker", () => {
  it("stays closed below the failure threshold", () => {
    expect(failTimes(2)).toEqual({ kind: "closed", consecutiveFailures: 2 });
  });

  it("opens at the threshold of consecutive failures", () => {
    expect(failTimes(3, 1_000)).toEqual({ kind: "open", openedAt: 1_000 });
  });

  it("counts only consecutive failures: a success resets the count", () => {
    let state = failTimes(2);
    state = onSuccess(state);
    state = onFailure(state, 0, policy);
    expect(state).toEqual({ kind: "closed", consecutiveFailures: 1 });
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
    expect(onSuccess({ kind: "half_open", trialStartedAt: 0 })).toEqual(CLOSED);
  });

  it("re-opens with a fresh cool-down when the trial fails", () => {
    expect(onFailure({ kind: "half_open", trialStartedAt: 30_000 }, 30_500, policy)).toEqual({ kind: "open", openedAt: 30_500 });
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

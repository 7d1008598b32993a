// Passive health: a per-origin circuit breaker as plain, serialisable data with the time passed in.
//   closed    --N consecutive failures-->  open
//   open      --open_seconds elapsed-->    half_open (one trial request is let through)
//   half_open --trial succeeds-->          closed
//   half_open --trial fails-->             open (the cool-down starts again)
export type BreakerState =
  | { kind: "closed"; consecutiveFailures: number }
  | { kind: "open"; openedAt: number }
  | { kind: "half_open"; trialStartedAt: number };

export interface BreakerPolicy {
  consecutiveFailures: number;
  openMs: number;
}

export const CLOSED: BreakerState = { kind: "closed", consecutiveFailures: 0 };

/** Whether an origin may receive a request now (without changing any state). */
export function isAdmitting(state: BreakerState, now: number, policy: BreakerPolicy): boolean {
  switch (state.kind) {
    case "closed":
      return true;
    case "open":
      return now - state.openedAt >= policy.openMs;
    case "half_open":
      // A trial that never reported back (its client left) must not block the origin forever.
      return now - state.trialStartedAt >= policy.openMs;
  }
}

/** The state once a request has been sent: an open circuit whose cool-down ended lets one trial through. */
export function onAttempt(state: BreakerState, now: number, policy: BreakerPolicy): BreakerState {
  if (state.kind === "closed" || !isAdmitting(state, now, policy)) return state;
  return { kind: "half_open", trialStartedAt: now };
}

export function onSuccess(_state: BreakerState): BreakerState {
  return CLOSED;
}

export function onFailure(state: BreakerState, now: number, policy: BreakerPolicy): BreakerState {
  switch (state.kind) {
    case "closed": {
      const consecutiveFailures = state.consecutiveFailures + 1;
      return consecutiveFailures >= policy.consecutiveFailures ? { kind: "open", openedAt: now } : { kind: "closed", consecutiveFailures };
    }
    case "half_open":
      return { kind: "open", openedAt: now };
    case "open":
      return state;
  }
}

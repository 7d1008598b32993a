// Passive health: a per-origin circuit breaker as plain, serialisable data with the time passed in.
// Two rules open it, after Envoy's outlier detection:
//   - connection failures and timeouts in a row (consecutive gateway failures): the origin itself is
//     unreachable, whatever was asked of it;
//   - error statuses only in bulk: within a window, at least `statusMinimumRequests` answers, at least
//     `statusFailureRatio` of them errors, on at least `statusMinimumPaths` distinct paths. One broken
//     page (or one client asking for it again and again) never ejects an origin that serves the rest.
//   closed    --either rule-->             open
//   open      --open_seconds elapsed-->    half_open (one trial request is let through)
//   half_open --trial succeeds-->          closed
//   half_open --trial fails-->             open (the cool-down starts again)
export type BreakerState =
  | { kind: "closed"; consecutiveFailures: number; window?: StatusWindow }
  | { kind: "open"; openedAt: number }
  | { kind: "half_open"; trialStartedAt: number };

/** The answers counted since `startedAt` (a tumbling window), for the error-status rule. */
export interface StatusWindow {
  startedAt: number;
  /** Answers with a status, errors included (connection failures are the other rule's). */
  answers: number;
  errors: number;
  /** Hashes of distinct paths that answered an error status; at most `statusMinimumPaths` kept. */
  errorPaths: number[];
}

export interface BreakerPolicy {
  /** Connection failures and timeouts in a row that open the circuit. */
  consecutiveFailures: number;
  openMs: number;
  statusWindowMs: number;
  statusMinimumRequests: number;
  statusFailureRatio: number;
  statusMinimumPaths: number;
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

/** The origin answered with a status that is not an error. */
export function onSuccess(state: BreakerState, now: number, policy: BreakerPolicy): BreakerState {
  if (state.kind !== "closed") return CLOSED;
  return { kind: "closed", consecutiveFailures: 0, window: countAnswer(state.window, now, policy, undefined) };
}

/** The origin could not be reached, or did not answer in time. */
export function onConnectionFailure(state: BreakerState, now: number, policy: BreakerPolicy): BreakerState {
  switch (state.kind) {
    case "closed": {
      const consecutiveFailures = state.consecutiveFailures + 1;
      return consecutiveFailures >= policy.consecutiveFailures ? { kind: "open", openedAt: now } : { ...state, consecutiveFailures };
    }
    case "half_open":
      return { kind: "open", openedAt: now };
    case "open":
      return state;
  }
}

/**
 * The origin answered with an error status (a retryable one, or one outside 200-599) for the path
 * hashed as `pathHash`. It neither resets nor adds to the consecutive connection failures: the origin
 * was reachable.
 */
export function onErrorStatus(state: BreakerState, now: number, policy: BreakerPolicy, pathHash: number): BreakerState {
  switch (state.kind) {
    case "closed": {
      const window = countAnswer(state.window, now, policy, pathHash);
      return isFailingInBulk(window, policy) ? { kind: "open", openedAt: now } : { ...state, window };
    }
    case "half_open":
      return { kind: "open", openedAt: now };
    case "open":
      return state;
  }
}

function countAnswer(previous: StatusWindow | undefined, now: number, policy: BreakerPolicy, errorPath: number | undefined): StatusWindow {
  const current = previous && now - previous.startedAt < policy.statusWindowMs ? previous : { startedAt: now, answers: 0, errors: 0, errorPaths: [] };
  if (errorPath === undefined) return { ...current, answers: current.answers + 1 };
  const knownPath = current.errorPaths.includes(errorPath) || current.errorPaths.length >= policy.statusMinimumPaths;
  return {
    startedAt: current.startedAt,
    answers: current.answers + 1,
    errors: current.errors + 1,
    errorPaths: knownPath ? current.errorPaths : [...current.errorPaths, errorPath],
  };
}

function isFailingInBulk(window: StatusWindow, policy: BreakerPolicy): boolean {
  return (
    window.answers >= policy.statusMinimumRequests &&
    window.errors >= policy.statusFailureRatio * window.answers &&
    window.errorPaths.length >= policy.statusMinimumPaths
  );
}

// One request to one origin, with a timeout that really cancels the subrequest.
// One timer per attempt, on the injected clock: it fires at the attempt's own timeout or at the request's deadline,
// whichever comes first, and stops once response headers arrive, so a large body keeps streaming
// after it. The client's signal stays attached: a client that leaves cancels the origin fetch too.
import type { Clock } from "../lib/clock.ts";
import { describeError } from "../lib/log.ts";

export type AttemptOutcome =
  | { kind: "response"; response: Response; elapsedMs: number }
  | { kind: "timeout"; elapsedMs: number }
  | { kind: "deadline"; elapsedMs: number }
  | { kind: "client_aborted"; elapsedMs: number }
  | { kind: "connect_error"; detail: string; elapsedMs: number };

export interface AttemptLimits {
  /** The attempt's own time to response headers. */
  timeoutMs: number;
  /** What is left of the request's deadline. */
  deadlineRemainingMs: number;
  /** Aborted when the client goes away. */
  client: AbortSignal | undefined;
}

export async function attemptOrigin(makeRequest: (signal: AbortSignal) => Request, limits: AttemptLimits, clock: Clock): Promise<AttemptOutcome> {
  const startedAt = clock.now();
  const limitedByDeadline = limits.deadlineRemainingMs < limits.timeoutMs;
  const timer = clock.timeout(
    limitedByDeadline ? limits.deadlineRemainingMs : limits.timeoutMs,
    limitedByDeadline ? "request deadline passed" : "origin attempt timed out",
  );
  const signal = limits.client ? AbortSignal.any([timer.signal, limits.client]) : timer.signal;
  try {
    const response = await fetch(makeRequest(signal));
    return { kind: "response", response, elapsedMs: clock.now() - startedAt };
  } catch (error) {
    const elapsedMs = clock.now() - startedAt;
    if (limits.client?.aborted) return { kind: "client_aborted", elapsedMs };
    if (timer.signal.aborted) return { kind: limitedByDeadline ? "deadline" : "timeout", elapsedMs };
    return { kind: "connect_error", detail: describeError(error), elapsedMs };
  } finally {
    timer.cancel();
  }
}

// One request to one origin, with a timeout that really cancels the subrequest.
// The attempt's own timer stops once response headers arrive, so a large body keeps streaming after
// it; the client's signal stays attached, so a client that leaves cancels the origin fetch as well.
import type { Clock } from "../lib/clock.ts";
import { describeError } from "../lib/log.ts";

export type AttemptOutcome =
  | { kind: "response"; response: Response; elapsedMs: number }
  | { kind: "timeout"; elapsedMs: number }
  | { kind: "deadline"; elapsedMs: number }
  | { kind: "client_aborted"; elapsedMs: number }
  | { kind: "connect_error"; detail: string; elapsedMs: number };

export interface AttemptSignals {
  /** Aborted when the request's overall deadline passes. */
  deadline: AbortSignal;
  /** Aborted when the client goes away. */
  client: AbortSignal | undefined;
}

export async function attemptOrigin(
  makeRequest: (signal: AbortSignal) => Request,
  timeoutMs: number,
  signals: AttemptSignals,
  clock: Clock,
): Promise<AttemptOutcome> {
  const startedAt = clock.now();
  const attemptTimer = new AbortController();
  const timer = setTimeout(() => attemptTimer.abort(new DOMException("origin attempt timed out", "TimeoutError")), timeoutMs);
  const signal = AbortSignal.any([attemptTimer.signal, signals.deadline, ...(signals.client ? [signals.client] : [])]);
  try {
    const response = await fetch(makeRequest(signal));
    return { kind: "response", response, elapsedMs: clock.now() - startedAt };
  } catch (error) {
    const elapsedMs = clock.now() - startedAt;
    if (signals.client?.aborted) return { kind: "client_aborted", elapsedMs };
    if (attemptTimer.signal.aborted) return { kind: "timeout", elapsedMs };
    if (signals.deadline.aborted) return { kind: "deadline", elapsedMs };
    return { kind: "connect_error", detail: describeError(error), elapsedMs };
  } finally {
    clearTimeout(timer);
  }
}

// The only place that reads the wall clock or starts a timer. Everything time-based takes a Clock,
// decisions (freshness, breaker cool-down, deadline) and timers (attempt timeouts, probe timeouts)
// alike, so tests step across boundaries exactly instead of sleeping.

/** A timer whose signal aborts with a TimeoutError DOMException once it fires. */
export interface ClockTimeout {
  signal: AbortSignal;
  /** Stops the timer: the signal then never aborts (a body still streaming is not cut off). */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** A timer of `ms` on this clock; `ms <= 0` gives a signal aborted already. */
  timeout(ms: number, message?: string): ClockTimeout;
}

export function timeoutError(message = "timed out"): DOMException {
  return new DOMException(message, "TimeoutError");
}

export const systemClock: Clock = {
  now: () => Date.now(),
  timeout(ms, message) {
    // Not AbortSignal.timeout: that timer cannot be stopped, and a signal attached to a fetch also
    // ends the response body when it fires.
    const controller = new AbortController();
    if (ms <= 0) {
      controller.abort(timeoutError(message));
      return { signal: controller.signal, cancel: () => {} };
    }
    const handle = setTimeout(() => controller.abort(timeoutError(message)), ms);
    return { signal: controller.signal, cancel: () => clearTimeout(handle) };
  },
};

// The only place that reads the wall clock. Everything time-based takes a Clock so tests can step
// across boundaries exactly instead of sleeping.
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

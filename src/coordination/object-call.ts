// What every coordination client shares: one call to a Durable Object bounded on the injected clock
// (an RPC cannot be cancelled, so a late answer is ignored and the request goes on without it), and
// the location memo in the Cache API that lets a location's isolates share one answer per interval.
import type { Clock } from "../lib/clock.ts";
import { describeError } from "../lib/log.ts";

/** How long the Cache API keeps a memo; readers judge its age themselves, so this is garbage collection. */
const MEMO_CACHE_SECONDS = 3_600;

/** `timedOut`: no answer within the time allowed (else the call rejected). */
export type CoordinatorResult<T> = { ok: true; value: T } | { ok: false; error: string; timedOut: boolean };

/**
 * Runs one call to `objectName`, bounded by `timeoutMs` on the clock. Never throws. `onLate` gets an
 * answer that comes after the timeout (a response whose body must be released, say).
 */
export async function callCoordinator<T>(clock: Clock, timeoutMs: number, call: () => Promise<T>, objectName = "the purge coordinator", onLate?: (late: T) => void): Promise<CoordinatorResult<T>> {
  const timer = clock.timeout(timeoutMs, `${objectName} did not answer within ${timeoutMs} ms`);
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => timer.signal.addEventListener("abort", () => resolve(TIMED_OUT), { once: true }));
  try {
    const answering = call();
    const first = await Promise.race([answering, timedOut]);
    if (first !== TIMED_OUT) return { ok: true, value: first };
    answering.then(onLate, () => undefined);
    return { ok: false, error: describeError(timer.signal.reason), timedOut: true };
  } catch (error) {
    return { ok: false, error: describeError(error), timedOut: false };
  } finally {
    timer.cancel();
  }
}

const TIMED_OUT = Symbol("timed out");

/** A JSON memo from the location's Cache API, or undefined (none, unreadable, or no Cache API). */
export async function readJson<T>(cache: Cache | undefined, url: string): Promise<T | undefined> {
  if (!cache) return undefined;
  try {
    const response = await cache.match(url);
    return response ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

export function putJson(cache: Cache, url: string, value: unknown): Promise<void> {
  return cache.put(url, new Response(JSON.stringify(value), { headers: { "cache-control": `max-age=${MEMO_CACHE_SECONDS}` } }));
}

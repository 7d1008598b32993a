// What every coordination client shares: one call to a Durable Object bounded on the injected clock
// (an RPC cannot be cancelled, so a late answer is ignored and the request goes on without it), and
// the location memo in the Cache API that lets a location's isolates share one answer per interval.
import type { Clock } from "../lib/clock.ts";
import { describeError } from "../lib/log.ts";

/** How long the Cache API keeps a memo; readers judge its age themselves, so this is garbage collection. */
const MEMO_CACHE_SECONDS = 3_600;

export type CoordinatorResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Runs one call to `objectName`, bounded by `timeoutMs` on the clock. Never throws. */
export async function callCoordinator<T>(clock: Clock, timeoutMs: number, call: () => Promise<T>, objectName = "the purge coordinator"): Promise<CoordinatorResult<T>> {
  const timer = clock.timeout(timeoutMs, `${objectName} did not answer within ${timeoutMs} ms`);
  const timedOut = new Promise<never>((_, reject) => timer.signal.addEventListener("abort", () => reject(timer.signal.reason), { once: true }));
  try {
    return { ok: true, value: await Promise.race([call(), timedOut]) };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  } finally {
    timer.cancel();
  }
}

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

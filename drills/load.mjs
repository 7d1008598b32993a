// Steady, bounded load: a few concurrent loops, each sending one GET at a time on a fixed schedule,
// so the total rate is `ratePerSecond` and never more than `loops` requests are in flight. A loop
// that falls behind skips the slots it missed instead of bursting to catch up: the drills measure
// Outpost under a steady trickle, not a load generator's backlog. Every request is recorded.

/** @typedef {{ path: string, kind: string }} Target */
/**
 * @typedef {{ at: number, path: string, kind: string, status: number, latencyMs: number,
 *   cacheStatus: string | null, upstream: string | null, serverTiming: string | null, contentType: string | null,
 *   body: string, error?: string }} Sample  `at` is ms since the load started; status 0 = no response (error set)
 */

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The origin named in Outpost-Upstream (absent on cache hits: the stored response was not fetched now). */
function upstreamOrigin(header) {
  return header ? (/origin="([^"]*)"/.exec(header)?.[1] ?? null) : null;
}

/** One GET with a client-side timeout; never throws. */
export async function get(baseUrl, target, { timeoutMs = 10_000, startedAt = performance.now() } = {}) {
  const sentAt = performance.now();
  const sample = { at: sentAt - startedAt, path: target.path, kind: target.kind, status: 0, latencyMs: 0, cacheStatus: null, upstream: null, serverTiming: null, contentType: null, body: "" };
  try {
    const response = await fetch(baseUrl + target.path, { signal: AbortSignal.timeout(timeoutMs) });
    sample.body = await response.text();
    sample.status = response.status;
    sample.cacheStatus = response.headers.get("cache-status");
    sample.upstream = upstreamOrigin(response.headers.get("outpost-upstream"));
    sample.serverTiming = response.headers.get("server-timing");
    sample.contentType = response.headers.get("content-type");
  } catch (error) {
    sample.error = error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : error.message;
  }
  sample.latencyMs = performance.now() - sentAt;
  return sample;
}

/**
 * Runs the load for `durationMs`, or until `until()` says stop once `durationMs` has passed (a drill
 * waiting to observe a recovery), bounded by `maxDurationMs`.
 * @param {{ baseUrl: string, durationMs: number, maxDurationMs?: number, until?: () => boolean,
 *   loops: number, ratePerSecond: number, pickTarget: (n: number) => Target, timeoutMs?: number,
 *   onSample?: (sample: Sample) => void }} options
 * @returns {Promise<{ samples: Sample[], elapsedMs: number }>}
 */
export async function runLoad({ baseUrl, durationMs, maxDurationMs = durationMs, until = () => true, loops, ratePerSecond, pickTarget, timeoutMs, onSample }) {
  const samples = [];
  const startedAt = performance.now();
  const slotMs = (loops * 1000) / ratePerSecond; // each loop's gap between requests
  let sequence = 0;
  const keepGoing = (now) => {
    const elapsed = now - startedAt;
    return elapsed < durationMs || (elapsed < maxDurationMs && !until());
  };
  const loop = async (index) => {
    let next = startedAt + (index * slotMs) / loops; // loops start staggered across one slot
    while (keepGoing(performance.now())) {
      await sleep(next - performance.now());
      if (!keepGoing(performance.now())) break;
      const sample = await get(baseUrl, pickTarget(sequence++), { timeoutMs, startedAt });
      samples.push(sample);
      onSample?.(sample);
      next += slotMs;
      const now = performance.now();
      if (next < now) next += Math.ceil((now - next) / slotMs) * slotMs; // skip missed slots
    }
  };
  await Promise.all(Array.from({ length: loops }, (_, index) => loop(index)));
  samples.sort((a, b) => a.at - b.at);
  return { samples, elapsedMs: performance.now() - startedAt };
}

// What one request did, collected as it goes: phases with their durations (Server-Timing), the
// route and origin that served it, and its Cache-Status. finish-request.ts turns it into headers, a
// log line, a data point and counters. Durations come from the injected clock; on Workers the clock
// advances only across I/O, which is exactly what the phases measure.
import type { CacheStatus } from "../cache/cache-status.ts";
import type { Clock } from "../lib/clock.ts";

interface Phase {
  /** A cache tier ("memory", "colo", "kv") or "origin". */
  name: string;
  durationMs: number;
  description?: string;
}

export class RequestTrace {
  readonly id: string;
  readonly startedAt: number;
  readonly phases: Phase[] = [];
  route?: string;
  pool?: string;
  origin?: string;
  cacheStatus?: CacheStatus;
  /** At an origin shield: the purge tags of what it answered, which its location stores with its copy. */
  cacheTags?: string[];
  private readonly clock: Clock;

  constructor(clock: Clock, id: string) {
    this.clock = clock;
    this.id = id;
    this.startedAt = clock.now();
  }

  now(): number {
    return this.clock.now();
  }

  /** Records a phase that began at `startedAt` and ends now. */
  phase(name: string, startedAt: number, description?: string): void {
    this.phases.push({ name, durationMs: this.clock.now() - startedAt, description });
  }

  elapsedMs(): number {
    return this.clock.now() - this.startedAt;
  }
}

/**
 * Random per isolate; with a counter it names requests without a Ray ID, without a UUID per request.
 * Drawn on first use: the runtime forbids random values at global scope.
 */
let isolateId: string | undefined;
let requestsWithoutRay = 0;

/** Cloudflare's Ray ID when there is one (it ties our log to Cloudflare's), else `<isolate>-<counter>`. */
export function requestIdFor(request: Request): string {
  const ray = request.headers.get("cf-ray");
  if (ray) return ray;
  isolateId ??= crypto.randomUUID().slice(0, 13).replace("-", "");
  return `${isolateId}-${(++requestsWithoutRay).toString(36)}`;
}

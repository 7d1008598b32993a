// What one request did, collected as it goes: phases with their durations (Server-Timing), the
// route and origin that served it, and its Cache-Status. finish-request.ts turns it into headers, a
// log line, a data point and counters. Durations come from the injected clock; on Workers the clock
// advances only across I/O, which is exactly what the phases measure.
import type { CacheStatus } from "../cache/cache-status.ts";
import type { Clock } from "../lib/clock.ts";

export interface Phase {
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

/** Cloudflare's Ray ID when there is one (it ties our log to Cloudflare's), else a fresh id. */
export function requestIdFor(request: Request): string {
  return request.headers.get("cf-ray") ?? crypto.randomUUID();
}

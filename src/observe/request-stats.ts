// Counters since this isolate started, for /__outpost/status and the dashboard. Plain numbers:
// incrementing them is the whole cost on the request path.
import type { CacheStatus } from "../cache/cache-status.ts";

type CacheOutcome = "hit" | "stale" | "stale_if_error" | "collapsed" | "miss" | "bypass" | "uncached";

/** How a request used the cache, from its Cache-Status (RFC 9211). */
export function cacheOutcome(status: CacheStatus | undefined): CacheOutcome {
  if (!status) return "uncached";
  if (status.hit) return status.detail?.endsWith("stale-while-revalidate") ? "stale" : "hit";
  if (status.detail === "stale-if-error") return "stale_if_error";
  if (status.collapsed) return "collapsed";
  if (status.fwd === "bypass" || status.fwd === "method") return "bypass";
  return "miss";
}

export class RequestStats {
  /**
   * The isolate's first request. Not the moment of creation: deps are created at module load, where
   * the Workers clock reads 0 (time only advances inside a request), which showed as 1970-01-01.
   */
  startedAt: number | undefined;
  requests = 0;
  errors = 0;
  readonly outcomes: Record<CacheOutcome, number> = { hit: 0, stale: 0, stale_if_error: 0, collapsed: 0, miss: 0, bypass: 0, uncached: 0 };
  /** Hits by the tier that answered (memory, colo, kv). */
  readonly hitsByTier: Record<string, number> = {};

  constructor(startedAt?: number) {
    this.startedAt = startedAt;
  }

  /** Called at the start of every request (admin ones too); only the first one counts. */
  noteRequest(now: number): void {
    this.startedAt ??= now;
  }

  /** Counts one request; returns its cache outcome (finish-request.ts reuses it). */
  count(status: CacheStatus | undefined, httpStatus: number): CacheOutcome {
    this.requests += 1;
    if (httpStatus >= 500) this.errors += 1;
    const outcome = cacheOutcome(status);
    this.outcomes[outcome] += 1;
    if ((outcome === "hit" || outcome === "stale") && status?.detail) {
      // "kv" or "kv:stale-while-revalidate": the tier is the part before any ":" (no array per hit).
      const colon = status.detail.indexOf(":");
      const tier = colon === -1 ? status.detail : status.detail.slice(0, colon);
      this.hitsByTier[tier] = (this.hitsByTier[tier] ?? 0) + 1;
    }
    return outcome;
  }
}

// Admission: which storage tiers a fill may write. Every cache-busting query string (?x=1, ?x=2, ...)
// is a new key; without admission each one cost a KV put (billed, one write per second per key) and
// a Cache API put that evicts something useful. A route's `cache.admission` decides:
//   - the location tier (Cache API) takes a fill once its key has reached the origin
//     `colo_after_requests` times within `window_seconds` in this isolate (default 1: at once);
//   - KV takes it from the `kv_after_requests`-th time (default 2: a key fetched once is never
//     written to KV), or when the fill refreshes a copy found in a storage tier (already admitted);
//   - and KV writes of one route in this isolate are limited to `kv_writes_per_minute` (a token
//     bucket on the injected clock, holding up to one minute's worth).
// The hot tier (this isolate, 10 s, bounded bytes) always takes what is storable. Counts are per
// isolate, like the throttles: a key requested once in each of many isolates is not admitted to KV.
import type { CachePolicy } from "../config/schema.ts";

/** Keys whose origin requests this isolate counts (each up to ~512 B of key: ~2.5 MB at most); cleared when full. */
export const ADMISSION_MAX_KEYS = 4_096;

export type AdmissionPolicy = CachePolicy["admission"];

/** What one fill may write (Admission.admit). */
export interface TierAdmission {
  /** Why the tier may not take the write ("admission": its count is not reached), else undefined. */
  refuses(tier: "colo" | "kv"): string | undefined;
  /** Takes one write from the route's KV budget; false when it is spent. Asked after the per-key throttle. */
  takeKvWrite(): boolean;
}

/** `admit` without KV, refused for `reason` (a fill whose KV copy another writer owns, e.g. the origin shield). */
export function exceptKv(admit: TierAdmission, reason: string): TierAdmission {
  return { refuses: (tier) => (tier === "kv" ? reason : admit.refuses(tier)), takeKvWrite: () => false };
}

class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly perMinute: number;
  constructor(perMinute: number, now: number) {
    this.perMinute = perMinute;
    this.tokens = perMinute;
    this.updatedAt = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.updatedAt) * this.perMinute) / 60_000);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class Admission {
  private readonly seen = new Map<string, { count: number; since: number }>();
  private readonly kvBuckets = new WeakMap<object, TokenBucket>();

  /** One request for `key` goes to the origin (a miss, a revalidation, a collapsed waiter). */
  noteOriginRequest(key: string, policy: AdmissionPolicy, now: number): void {
    const known = this.seen.get(key);
    if (known && now - known.since < policy.window_seconds * 1000) {
      known.count += 1;
      return;
    }
    if (!known && this.seen.size >= ADMISSION_MAX_KEYS) this.seen.clear();
    this.seen.set(key, { count: 1, since: now });
  }

  /** Origin requests for `key` counted within the policy's window. */
  requestsWithin(key: string, policy: AdmissionPolicy, now: number): number {
    const known = this.seen.get(key);
    return known && now - known.since < policy.window_seconds * 1000 ? known.count : 0;
  }

  /**
   * The tiers a fill of `key` on `route` may write; `foundInStorage` when it refreshes a copy read
   * from the Cache API or KV (admitted before).
   */
  admit(route: { cache: { admission: AdmissionPolicy } }, key: string, foundInStorage: boolean, now: number): TierAdmission {
    const policy = route.cache.admission;
    const requests = this.requestsWithin(key, policy, now);
    const colo = foundInStorage || requests >= policy.colo_after_requests;
    const kv = foundInStorage || requests >= policy.kv_after_requests;
    return {
      refuses: (tier) => ((tier === "colo" ? colo : kv) ? undefined : "admission"),
      takeKvWrite: () => {
        let bucket = this.kvBuckets.get(route);
        if (!bucket) this.kvBuckets.set(route, (bucket = new TokenBucket(policy.kv_writes_per_minute, now)));
        return bucket.take(now);
      },
    };
  }
}

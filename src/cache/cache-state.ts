// What one isolate remembers about the cache between requests: fills in flight (request
// collapsing), refreshes in flight (stale-while-revalidate deduplication), recent KV writes, and
// the hot tier.
import type { StoredResponse } from "./entry.ts";
import { MemoryTier } from "./memory-tier.ts";
import { ColoTier, KvTier, TieredStore, WriteThrottle, type CacheTier } from "./tiered-store.ts";

/** What waiters of a collapsed miss receive from the request that went to the origin. */
export type SharedFill = { kind: "entry"; stored: StoredResponse; varyValues: string | undefined } | { kind: "none" };

export class CacheState {
  readonly inflight = new Map<string, Promise<SharedFill>>();
  readonly refreshing = new Set<string>();
  readonly throttle = new WriteThrottle();
  /** The hot tier: small objects in this isolate's memory. */
  readonly memory = new MemoryTier();

  /** This isolate's hot tier, then the location's Cache API (where it exists), then KV (when bound). */
  openStore(kv: KVNamespace | undefined): TieredStore {
    const tiers: CacheTier[] = [];
    if (typeof caches !== "undefined") tiers.push(new ColoTier(caches.default));
    if (kv) tiers.push(new KvTier(kv));
    return new TieredStore(tiers, this.throttle, this.memory);
  }
}

// What one isolate remembers about the cache between requests: fills in flight (request
// collapsing), refreshes in flight (stale-while-revalidate deduplication), and recent KV writes.
import type { StoredResponse } from "./entry.ts";
import { WriteThrottle } from "./tiered-store.ts";

/** What waiters of a collapsed miss receive from the request that went to the origin. */
export type SharedFill = { kind: "entry"; stored: StoredResponse; varyValues: string | undefined } | { kind: "none" };

export class CacheState {
  readonly inflight = new Map<string, Promise<SharedFill>>();
  readonly refreshing = new Set<string>();
  readonly throttle = new WriteThrottle();
}

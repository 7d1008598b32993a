// Invalidation after unsafe requests (RFC 9111 §4.4) marks stored responses stale; it never deletes
// them. The mark lives in this isolate's memory, keyed by the URL's file identity (host + path +
// normalised query, the purge ledger's files: every variant and key dimension of the URL at once),
// and is applied the way a soft purge is: an entry stored before the mark is treated as stale and
// must be revalidated before it is served again (no stale-while-revalidate), while it stays
// available for stale-if-error. Why not delete, or rewrite the stored copies:
//   - deleting let any client evict any page (POST + Location) from every tier, KV included: one
//     billed KV delete and one origin refill per request, and it threw away the copy stale-if-error needs;
//   - rewriting the stored times costs a read and a write per tier (a billed KV write, throttled to
//     one per second per key), and a large entry would be read and written whole.
// A mark costs no I/O at all. RFC 9111 §4.4 only asks the caches a request passes through to
// invalidate ("this does not guarantee that all appropriate responses are invalidated globally"):
// the revalidation the mark forces here stores the origin's new answer in every tier (location and
// KV), from where other isolates and locations pick it up as their copies expire.
import { staleFrom, type EntryTimes } from "./freshness.ts";

/**
 * Marks kept per isolate; the oldest is forgotten first (its URL may then be served until it
 * expires). Each is a 64-bit digest of the identity, not the URL: ~10,000 marks take about 1 MB
 * whatever the URLs' length (16 KB URLs would otherwise take 160 MB of a 128 MB isolate).
 */
export const MAX_SOFT_INVALIDATIONS = 10_000;

/**
 * Two 32-bit FNV-1a lanes. A collision marks another URL stale too (one extra revalidation): no
 * power an attacker lacks, since a POST to that URL marks it anyway.
 */
export function digestIdentity(identity: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ identity.length;
  for (let index = 0; index < identity.length; index += 1) {
    const code = identity.charCodeAt(index);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995);
  }
  return `${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}`;
}

export class SoftInvalidations {
  /** Digest of the file identity -> when it was invalidated, oldest first (Map insertion order). */
  private readonly marks = new Map<string, number>();
  /** The latest mark: entries stored after it need no lookup (the hot path). */
  newestAt = Number.NEGATIVE_INFINITY;

  get size(): number {
    return this.marks.size;
  }

  mark(identity: string, at: number): void {
    const digest = digestIdentity(identity);
    this.marks.delete(digest); // re-inserted as the newest
    this.marks.set(digest, at);
    if (this.marks.size > MAX_SOFT_INVALIDATIONS) this.marks.delete(this.marks.keys().next().value!);
    this.newestAt = Math.max(this.newestAt, at);
  }

  /**
   * When the entry stored at `storedAt` for `identity()` was invalidated, or undefined. An entry
   * stored in the same millisecond as the mark may predate it: it counts as invalidated.
   */
  invalidatedAt(storedAt: number, identity: () => string): number | undefined {
    if (storedAt > this.newestAt) return undefined;
    const at = this.marks.get(digestIdentity(identity()));
    return at !== undefined && storedAt <= at ? at : undefined;
  }
}

/**
 * An entry invalidated at `at` (RFC 9111 §4.4: "in need of a mandatory validation before [it] can be
 * sent"): stale from then on, so never served under stale-while-revalidate, and its stale-if-error
 * window counted from the invalidation, as a soft purge counts it.
 */
export function invalidatedTimes<T extends EntryTimes>(times: T, at: number): T {
  const stale = staleFrom(times, at);
  return stale.staleWhileRevalidateUntilAt > at ? { ...stale, staleWhileRevalidateUntilAt: Math.min(at, stale.freshUntilAt) } : stale;
}

/** At most `limit` events per `windowMs` in this isolate (a fixed window on the injected clock). */
export class WindowBudget {
  private windowStartAt = Number.NEGATIVE_INFINITY;
  private used = 0;
  private readonly limit: number;
  private readonly windowMs: number;
  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
  }
  take(now: number): boolean {
    if (now - this.windowStartAt >= this.windowMs) {
      this.windowStartAt = now;
      this.used = 0;
    }
    if (this.used >= this.limit) return false;
    this.used += 1;
    return true;
  }
}

/**
 * Location / Content-Location invalidations per isolate per window: a client cannot make a route's
 * responses invalidate pages faster than this, whatever it sends (unsafe requests' own URLs are not
 * counted: they are the RFC's MUST).
 */
export const RELATED_INVALIDATIONS_PER_WINDOW = 10;
export const RELATED_INVALIDATION_WINDOW_MS = 10_000;

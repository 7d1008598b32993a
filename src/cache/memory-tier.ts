// The hot tier: decoded records of small, popular objects in this isolate's memory, least recently
// used first out, bounded by bytes. Entries live at most HOT_TIER_MAX_LIFETIME_MS, so an entry
// refreshed by another isolate or location replaces this copy within that bound. (Purges need no
// such bound: every hit, from this tier too, is judged by the purge ledger.)
import { headersOf } from "../lib/headers.ts";
import { recordBytes, retentionSeconds, type StoredRecord, type StoredResponse } from "./entry.ts";

/** All entries together, counted as recordBytes counts them (body buffer, encoded record, decoded header). */
export const HOT_TIER_MAX_BYTES = 16 * 1024 * 1024;
/** The most one entry may count. */
export const HOT_TIER_MAX_OBJECT_BYTES = 256 * 1024;
/** Allowance for an ordinary entry's header (a few hundred bytes of fields, decoded twice): see recordBytes. */
const TYPICAL_HEADER_BYTES = 4 * 1024;
/** The largest body the hot tier takes (a memory-only route stores nothing larger). */
export const HOT_TIER_MAX_BODY_BYTES = HOT_TIER_MAX_OBJECT_BYTES - TYPICAL_HEADER_BYTES;
export const HOT_TIER_MAX_LIFETIME_MS = 10_000;

interface HotEntry {
  record: StoredRecord;
  bytes: number;
  expiresAt: number;
}

export class MemoryTier {
  private readonly entries = new Map<string, HotEntry>();
  private bytes = 0;
  private readonly maxBytes: number;

  constructor(maxBytes = HOT_TIER_MAX_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** The record without touching its recency (explain). */
  peek(key: string, now: number): StoredRecord | undefined {
    const entry = this.entries.get(key);
    return entry && now < entry.expiresAt ? entry.record : undefined;
  }

  get(key: string, now: number): StoredRecord | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (now >= entry.expiresAt) {
      this.bytes -= entry.bytes;
      return undefined;
    }
    this.entries.set(key, entry); // most recently used goes last
    return entry.record;
  }

  set(key: string, record: StoredRecord, now: number): void {
    this.delete(key);
    const keepMs = Math.min(HOT_TIER_MAX_LIFETIME_MS, retentionSeconds(record.meta, now) * 1000);
    if (keepMs <= 0) return;
    // Hot entries are delivered many times: their headers are prepared once (see deliverEntry), if
    // decodeRecord has not already. Counted as kept, that copy included.
    const stored = record.meta.kind === "response" ? (record as StoredResponse) : undefined;
    if (stored && !stored.headers) record = { ...stored, headers: headersOf(stored.meta.headers) };
    const bytes = recordBytes(record) + key.length * 2;
    if (bytes > HOT_TIER_MAX_OBJECT_BYTES || bytes > this.maxBytes) return;
    this.entries.set(key, { record, bytes, expiresAt: now + keepMs });
    this.bytes += bytes;
    for (const [oldestKey] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldestKey);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  /** Entries and the bytes they count (recordBytes), for the admin status and the bench. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  get capacityBytes(): number {
    return this.maxBytes;
  }
}

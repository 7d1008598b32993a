// The storage tiers, nearest first: the location's Cache API ("colo"), then Workers KV ("kv", global).
// Freshness is decided from the entry's own timestamps; tier expiry is only garbage collection.
// Every storage error degrades to a miss or a skipped write: the request is then served from the
// origin, never failed.
import { describeError, logEvent } from "../lib/log.ts";
import { decodeRecord, encodeRecord, retentionSeconds, type EntryMeta, type StoredBody, type StoredRecord } from "./entry.ts";
import { HOT_TIER_MAX_BODY_BYTES, type MemoryTier } from "./memory-tier.ts";

/** KV's minimum expirationTtl. */
const KV_MIN_TTL_SECONDS = 60;
/** KV accepts one write per second per key; more in this isolate are skipped, not queued. */
export const KV_MIN_WRITE_INTERVAL_MS = 1_000;
/** Cache API requests need a URL; this host never leaves the worker. */
const COLO_KEY_BASE = "https://outpost-cache.internal/";

export type TierName = "memory" | "colo" | "kv";

export interface CacheTier {
  readonly name: TierName;
  /** The stored value, or null (KV's own answer for a missing key, passed on without an extra await). */
  get(key: string): Promise<ArrayBuffer | null>;
  put(key: string, data: ArrayBuffer, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export class KvTier implements CacheTier {
  readonly name = "kv";
  private readonly kv: KVNamespace;
  constructor(kv: KVNamespace) {
    this.kv = kv;
  }
  get(key: string) {
    return this.kv.get(key, "arrayBuffer");
  }
  async put(key: string, data: ArrayBuffer, ttlSeconds: number) {
    await this.kv.put(key, data, { expirationTtl: Math.max(KV_MIN_TTL_SECONDS, ttlSeconds) });
  }
  async delete(key: string) {
    await this.kv.delete(key);
  }
}

export class ColoTier implements CacheTier {
  readonly name = "colo";
  private readonly cache: Cache;
  constructor(cache: Cache) {
    this.cache = cache;
  }
  private request(key: string) {
    return new Request(COLO_KEY_BASE + encodeURIComponent(key));
  }
  async get(key: string) {
    const response = await this.cache.match(this.request(key));
    return response ? await response.arrayBuffer() : null;
  }
  async put(key: string, data: ArrayBuffer, ttlSeconds: number) {
    await this.cache.put(this.request(key), new Response(data, { headers: { "cache-control": `max-age=${Math.max(1, ttlSeconds)}` } }));
  }
  async delete(key: string) {
    await this.cache.delete(this.request(key));
  }
}

/** At most one event per key per interval in this isolate (KV writes, background refreshes). */
export class KeyThrottle {
  private readonly lastAt = new Map<string, number>();
  private readonly intervalMs: number;
  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }
  allow(key: string, now: number): boolean {
    const last = this.lastAt.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    if (this.lastAt.size > 10_000) this.lastAt.clear(); // bounded memory
    this.lastAt.set(key, now);
    return true;
  }
}

/** Where a lookup reports each tier's read (the request trace: Server-Timing). */
export interface TierTimings {
  now(): number;
  phase(name: TierName, startedAt: number, description: string): void;
}

export interface Lookup {
  record: StoredRecord;
  tier: TierName;
}

export class TieredStore {
  private readonly tiers: CacheTier[];
  private readonly throttle: KeyThrottle;
  private readonly memory: MemoryTier | undefined;
  constructor(tiers: CacheTier[], throttle: KeyThrottle, memory?: MemoryTier) {
    this.tiers = tiers;
    this.throttle = throttle;
    this.memory = memory;
  }

  get hasMemory(): boolean {
    return this.memory !== undefined;
  }

  /** The largest body some tier keeps: storage tiers take what the route allows, the hot tier alone is small. */
  get maxBodyBytes(): number {
    if (this.tiers.length > 0) return Number.POSITIVE_INFINITY;
    return this.memory ? HOT_TIER_MAX_BODY_BYTES : 0;
  }

  /** The hot tier alone, synchronously: most hits end here without a promise. */
  getHot(key: string, now: number): Lookup | undefined {
    const hot = this.memory?.get(key, now);
    return hot ? { record: hot, tier: "memory" } : undefined;
  }

  /**
   * The nearest storage tier (below the hot tier, which the caller has asked already) holding a
   * readable record; nearer tiers missing it, the hot tier included, are refilled.
   */
  async getFromStorage(key: string, background: (work: Promise<unknown>) => void, now: number, timings?: TierTimings): Promise<Lookup | undefined> {
    // Indexed loop: a KV-tier hit is a hot path, and an iterator and a slice per lookup show up there.
    for (let index = 0; index < this.tiers.length; index += 1) {
      const tier = this.tiers[index]!;
      let data: ArrayBuffer | null;
      const startedAt = timings?.now() ?? 0;
      try {
        data = await tier.get(key);
      } catch (error) {
        timings?.phase(tier.name, startedAt, "error");
        logEvent("warn", "cache_tier_read_failed", { tier: tier.name, error: describeError(error) });
        continue;
      }
      timings?.phase(tier.name, startedAt, data === null ? "miss" : "hit");
      const record = data === null ? undefined : decodeRecord(data);
      if (!record || !data) continue;
      const ttl = retentionSeconds(record.meta, now);
      for (let nearer = 0; nearer < index; nearer += 1) background(this.write(this.tiers[nearer]!, key, data, ttl, now));
      this.memory?.set(key, record, now);
      return { record, tier: tier.name };
    }
    return undefined;
  }

  /** Writes every tier; failures are logged, never thrown. `encoded` is the record when already built. */
  async put(key: string, meta: EntryMeta, body: StoredBody | undefined, now: number, encoded?: ArrayBuffer): Promise<void> {
    const ttl = retentionSeconds(meta, now);
    if (ttl <= 0) return;
    const data = encoded ?? encodeRecord(meta, body);
    this.memory?.set(key, { meta, body: body ?? new ArrayBuffer(0) } as StoredRecord, now);
    await Promise.all(this.tiers.map((tier) => this.write(tier, key, data, ttl, now)));
  }

  /** Every tier's record for `key`, read without refilling anything (explain). */
  async inspect(key: string, now: number): Promise<Array<{ tier: TierName; record?: StoredRecord; error?: string }>> {
    const results: Array<{ tier: TierName; record?: StoredRecord; error?: string }> = [];
    if (this.memory) results.push({ tier: "memory", record: this.memory.peek(key, now) });
    for (const tier of this.tiers) {
      try {
        const data = await tier.get(key);
        results.push({ tier: tier.name, record: data === null ? undefined : decodeRecord(data) });
      } catch (error) {
        results.push({ tier: tier.name, error: describeError(error) });
      }
    }
    return results;
  }

  async delete(key: string): Promise<void> {
    this.memory?.delete(key);
    await Promise.all(
      this.tiers.map((tier) =>
        tier.delete(key).catch((error: unknown) => logEvent("warn", "cache_tier_delete_failed", { tier: tier.name, error: describeError(error) })),
      ),
    );
  }

  private async write(tier: CacheTier, key: string, data: ArrayBuffer, ttl: number, now: number): Promise<void> {
    if (tier.name === "kv" && !this.throttle.allow(key, now)) {
      logEvent("debug", "cache_kv_write_skipped", { reason: "one write per second per key" });
      return;
    }
    try {
      await tier.put(key, data, ttl);
    } catch (error) {
      logEvent("warn", "cache_tier_write_failed", { tier: tier.name, error: describeError(error) });
    }
  }
}

// The storage tiers, nearest first: the location's Cache API ("colo"), then Workers KV ("kv", global).
// Freshness is decided from the entry's own timestamps; tier expiry is only garbage collection.
// Every storage error degrades to a miss or a skipped write: the request is then served from the
// origin, never failed.
import { describeError, logEvent } from "../lib/log.ts";
import { withLength } from "../lib/streams.ts";
import { decodeRecord, encodeRecord, readStreamedRecord, retentionSeconds, type EntryMeta, type StoredBody, type StoredRecord, type StreamedResponse } from "./entry.ts";
import type { TierAdmission } from "./admission.ts";
import { HOT_TIER_MAX_BODY_BYTES, type MemoryTier } from "./memory-tier.ts";

/** KV's minimum expirationTtl. */
const KV_MIN_TTL_SECONDS = 60;
/** KV accepts one write per second per key; more in this isolate are skipped, not queued. */
export const KV_MIN_WRITE_INTERVAL_MS = 1_000;
/** Cache API requests need a URL; this host never leaves the worker. */
const COLO_KEY_BASE = "https://outpost-cache.internal/";

export type TierName = "memory" | "colo" | "kv";

/**
 * Values from this size on are streamed from a storage tier to the client instead of read whole:
 * each hit of a 20 MiB object read whole took ~60 MiB (locally, against 128 MB per isolate in
 * production). Below it, reading whole is the faster way, and keeps the bytes for the hot tier.
 */
export const STREAMED_VALUE_MIN_BYTES = 1024 * 1024;

/** A stored value read as a stream, with its length (the Cache API's Content-Length, KV metadata). */
export interface StreamedValue {
  stream: ReadableStream<Uint8Array>;
  byteLength: number;
}

export interface CacheTier {
  readonly name: TierName;
  /** The stored value (streamed when large: see each tier), or null. */
  get(key: string): Promise<ArrayBuffer | StreamedValue | null>;
  put(key: string, data: ArrayBuffer | StreamedValue, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Told when a value it returned whole was large (KV: read it as a stream next time). */
  readWholeLarge?(key: string): void;
}

/** The metadata Outpost writes with a large KV value: its length, known before the value is read. */
interface KvValueMetadata {
  bytes?: number;
}

/** How many large keys a KV tier remembers (cleared when full). */
const LARGE_KEYS_MAX = 1_000;

export class KvTier implements CacheTier {
  readonly name = "kv";
  private readonly kv: KVNamespace;
  /**
   * Keys whose value this isolate knows to be large (it wrote one, or read one whole): read as a
   * stream from then on. Other keys are read whole, because learning the length before the read
   * costs every 10 KB hit (reading with metadata as a stream ~5% of its throughput, the header off
   * a stream ~6%: A/B runs of 10 rounds). So an isolate's first read of a large value holds it whole.
   */
  private readonly largeKeys = new Set<string>();
  constructor(kv: KVNamespace) {
    this.kv = kv;
  }
  get(key: string) {
    return this.largeKeys.has(key) ? this.getStreamed(key) : this.kv.get(key, "arrayBuffer");
  }
  readWholeLarge(key: string) {
    if (this.largeKeys.size >= LARGE_KEYS_MAX) this.largeKeys.clear();
    this.largeKeys.add(key);
  }
  private async getStreamed(key: string) {
    const { value, metadata } = await this.kv.getWithMetadata<KvValueMetadata>(key, "stream");
    if (value === null) return null;
    const byteLength = metadata?.bytes;
    if (typeof byteLength === "number" && byteLength >= STREAMED_VALUE_MIN_BYTES) return { stream: value, byteLength };
    this.largeKeys.delete(key); // small now, or written without its length
    return new Response(value).arrayBuffer();
  }
  async put(key: string, data: ArrayBuffer | StreamedValue, ttlSeconds: number) {
    const large = data.byteLength >= STREAMED_VALUE_MIN_BYTES;
    const metadata: KvValueMetadata = { bytes: data.byteLength };
    await this.kv.put(key, data instanceof ArrayBuffer ? data : withLength(data.stream, data.byteLength), { expirationTtl: Math.max(KV_MIN_TTL_SECONDS, ttlSeconds), ...(large && { metadata }) });
    if (large) this.readWholeLarge(key);
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
    if (!response) return null;
    const byteLength = Number(response.headers.get("content-length"));
    if (response.body && byteLength >= STREAMED_VALUE_MIN_BYTES) return { stream: response.body, byteLength };
    return await response.arrayBuffer();
  }
  async put(key: string, data: ArrayBuffer | StreamedValue, ttlSeconds: number) {
    const body = data instanceof ArrayBuffer ? data : withLength(data.stream, data.byteLength);
    await this.cache.put(this.request(key), new Response(body, { headers: { "cache-control": `max-age=${Math.max(1, ttlSeconds)}` } }));
  }
  async delete(key: string) {
    await this.cache.delete(this.request(key));
  }
}

/** Keys a throttle remembers (each up to ~512 B: ~2.5 MB at most), cleared when full. */
export const KEY_THROTTLE_MAX_KEYS = 4_096;

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
    if (this.lastAt.size >= KEY_THROTTLE_MAX_KEYS) this.lastAt.clear(); // bounded memory
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
  /** A large response from a storage tier is streamed (StreamedResponse); everything else is whole. */
  record: StoredRecord | StreamedResponse;
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
      let data: ArrayBuffer | StreamedValue | null;
      const startedAt = timings?.now() ?? 0;
      try {
        data = await tier.get(key);
      } catch (error) {
        timings?.phase(tier.name, startedAt, "error");
        logEvent("warn", "cache_tier_read_failed", { tier: tier.name, error: describeError(error) });
        continue;
      }
      timings?.phase(tier.name, startedAt, data === null ? "miss" : "hit");
      if (data === null) continue;
      if (!(data instanceof ArrayBuffer)) {
        const streamed = await this.readStreamed(index, key, data, background, now);
        if (streamed) return { record: streamed, tier: tier.name };
        continue;
      }
      if (data.byteLength >= STREAMED_VALUE_MIN_BYTES) tier.readWholeLarge?.(key);
      const record = decodeRecord(data);
      if (!record) continue;
      const ttl = retentionSeconds(record.meta, now);
      for (let nearer = 0; nearer < index; nearer += 1) background(this.write(this.tiers[nearer]!, key, data, ttl, now));
      this.memory?.set(key, record, now);
      return { record, tier: tier.name };
    }
    return undefined;
  }

  /**
   * A large value from tier `index`: its record with the body streaming, and the value streamed into
   * the nearer tier that missed it (a tee: whichever side is slower holds back what it has not read
   * yet, at most the object). Too large for the hot tier.
   */
  private async readStreamed(index: number, key: string, value: StreamedValue, background: (work: Promise<unknown>) => void, now: number): Promise<StreamedResponse | undefined> {
    if (index === 0) return readStreamedRecord(value.stream, value.byteLength);
    const [forClient, forTiers] = value.stream.tee();
    const record = await readStreamedRecord(forClient, value.byteLength);
    if (!record) {
      await forTiers.cancel();
      return undefined;
    }
    // Tiers are ordered Cache API, KV: only the Cache API can be nearer, and it takes the copy.
    background(this.write(this.tiers[0]!, key, { stream: forTiers, byteLength: value.byteLength }, retentionSeconds(record.meta, now), now));
    return record;
  }

  /**
   * Writes the hot tier and every storage tier `admit` allows (admission.ts; all when absent);
   * failures are logged, never thrown. `encoded` is the record when already built.
   */
  async put(key: string, meta: EntryMeta, body: StoredBody | undefined, now: number, encoded?: ArrayBuffer, admit?: TierAdmission): Promise<void> {
    const ttl = retentionSeconds(meta, now);
    if (ttl <= 0) return;
    this.memory?.set(key, { meta, body: body ?? new ArrayBuffer(0) } as StoredRecord, now);
    let data: ArrayBuffer | undefined = encoded;
    await Promise.all(
      this.tiers.map((tier) => {
        // Admission's count first, then the per-key throttle, then the KV budget: a write refused
        // earlier neither marks the key as written this second nor takes a token.
        const refused = admit?.refuses(tier.name as "colo" | "kv") ?? this.kvRefuses(tier, key, now, admit);
        if (refused) {
          logEvent("debug", "cache_tier_write_skipped", { tier: tier.name, reason: refused });
          return undefined;
        }
        return this.writeAllowed(tier, key, (data ??= encodeRecord(meta, body)), ttl);
      }),
    );
  }

  private kvRefuses(tier: CacheTier, key: string, now: number, admit: TierAdmission | undefined): string | undefined {
    if (tier.name !== "kv") return undefined;
    if (!this.throttle.allow(key, now)) return "one write per second per key";
    return admit && !admit.takeKvWrite() ? "kv-write-budget" : undefined;
  }

  /** Every tier's record for `key`, read without refilling anything (explain). */
  async inspect(key: string, now: number): Promise<Array<{ tier: TierName; record?: StoredRecord | StreamedResponse; error?: string }>> {
    const results: Array<{ tier: TierName; record?: StoredRecord | StreamedResponse; error?: string }> = [];
    if (this.memory) results.push({ tier: "memory", record: this.memory.peek(key, now) });
    for (const tier of this.tiers) {
      try {
        const data = await tier.get(key);
        results.push({ tier: tier.name, record: data === null ? undefined : data instanceof ArrayBuffer ? decodeRecord(data) : await this.peekStreamed(data) });
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

  /** A streamed record's header, its body cancelled unread. */
  private async peekStreamed(value: StreamedValue): Promise<StreamedResponse | undefined> {
    const record = await readStreamedRecord(value.stream, value.byteLength);
    await record?.body.stream.cancel();
    return record;
  }

  private async write(tier: CacheTier, key: string, data: ArrayBuffer | StreamedValue, ttl: number, now: number): Promise<void> {
    if (tier.name === "kv" && !this.throttle.allow(key, now)) {
      logEvent("debug", "cache_kv_write_skipped", { reason: "one write per second per key" });
      if (!(data instanceof ArrayBuffer)) await data.stream.cancel();
      return;
    }
    await this.writeAllowed(tier, key, data, ttl);
  }

  private async writeAllowed(tier: CacheTier, key: string, data: ArrayBuffer | StreamedValue, ttl: number): Promise<void> {
    try {
      await tier.put(key, data, ttl);
    } catch (error) {
      logEvent("warn", "cache_tier_write_failed", { tier: tier.name, error: describeError(error) });
    }
  }
}

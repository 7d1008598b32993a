import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord, recordBytes, type StoredRecord } from "../../../src/cache/entry.ts";
import { HOT_TIER_MAX_BYTES, HOT_TIER_MAX_LIFETIME_MS, HOT_TIER_MAX_OBJECT_BYTES, MemoryTier } from "../../../src/cache/memory-tier.ts";

const NOW = 1_000_000;

function record(bodyBytes: number, keepForMs = 60_000, headers: Array<[string, string]> = []): StoredRecord {
  return {
    meta: { v: 1, kind: "response", status: 200, headers, storedAt: NOW, initialAgeSeconds: 0, freshUntilAt: NOW + keepForMs, staleWhileRevalidateUntilAt: NOW + keepForMs, staleIfErrorUntilAt: NOW + keepForMs, keepUntilAt: NOW + keepForMs },
    body: new ArrayBuffer(bodyBytes),
  };
}

/** What the tier counts for `record` under `key`: the record with its Headers prepared, and the key. */
function counted(key: string, stored: StoredRecord): number {
  const tier = new MemoryTier();
  tier.set(key, stored, NOW);
  return tier.size.bytes;
}

describe("MemoryTier", () => {
  it("returns what it holds until its short lifetime ends", () => {
    const tier = new MemoryTier();
    tier.set("a", record(10), NOW);
    expect(tier.get("a", NOW + HOT_TIER_MAX_LIFETIME_MS - 1)).toBeDefined();
    expect(tier.get("a", NOW + HOT_TIER_MAX_LIFETIME_MS)).toBeUndefined();
    expect(tier.size).toEqual({ entries: 0, bytes: 0 });
  });

  it("never keeps an entry past the entry's own retention", () => {
    const tier = new MemoryTier();
    tier.set("a", record(10, 2_000), NOW);
    expect(tier.get("a", NOW + 1_999)).toBeDefined();
    expect(tier.get("a", NOW + 2_000)).toBeUndefined();
  });

  it("does not hold objects above the size limit", () => {
    const tier = new MemoryTier();
    tier.set("big", record(HOT_TIER_MAX_OBJECT_BYTES), NOW);
    expect(tier.get("big", NOW)).toBeUndefined();
  });

  it("counts an entry's headers (kept as fields and as a Headers object), the buffer its body views, and its key", () => {
    const headers: Array<[string, string]> = [["x-large", "h".repeat(20_000)]];
    const withHeaders = counted("k", record(1_000, 60_000, headers));
    expect(withHeaders).toBeGreaterThanOrEqual(1_000 + 2 * 2 * 20_000);
    const decoded = decodeRecord(encodeRecord(record(1_000).meta, new Uint8Array(1_000)))!;
    expect(counted("k", decoded)).toBeGreaterThanOrEqual(recordBytes(decoded) + 1);
    expect(counted("k".repeat(300), record(10)) - counted("k", record(10))).toBe(299 * 2);
  });

  it("does not hold an entry whose headers alone exceed the size limit, whatever its body", () => {
    const tier = new MemoryTier();
    tier.set("headers", record(10, 60_000, [["x-large", "h".repeat(64 * 1024)]]), NOW);
    expect(tier.get("headers", NOW)).toBeUndefined();
    expect(tier.size.bytes).toBe(0);
  });

  it("keeps 4,000 entries with 32 KB of headers each within its byte budget", () => {
    const tier = new MemoryTier();
    const headers: Array<[string, string]> = [["x-large", "h".repeat(32 * 1024)]];
    for (let index = 0; index < 4_000; index += 1) tier.set(`key-${index}`, record(100, 60_000, headers), NOW);
    expect(tier.size.bytes).toBeLessThanOrEqual(HOT_TIER_MAX_BYTES);
    expect(tier.size.entries).toBeLessThan(HOT_TIER_MAX_BYTES / (2 * 32 * 1024)); // each counts its fields twice (array and Headers)
    expect(tier.size.entries).toBeGreaterThan(0);
  });

  it("evicts the least recently used entries beyond its byte budget", () => {
    const one = counted("a", record(1000));
    const tier = new MemoryTier(3 * one);
    for (const key of ["a", "b", "c"]) tier.set(key, record(1000), NOW);
    tier.get("a", NOW); // a becomes the most recently used
    tier.set("d", record(1000), NOW);
    expect(["a", "b", "c", "d"].map((key) => tier.get(key, NOW) !== undefined)).toEqual([true, false, true, true]);
    expect(tier.size.bytes).toBeLessThanOrEqual(3 * one);
  });

  it("forgets deleted keys", () => {
    const tier = new MemoryTier();
    tier.set("a", record(10), NOW);
    tier.delete("a");
    expect(tier.get("a", NOW)).toBeUndefined();
    expect(tier.size).toEqual({ entries: 0, bytes: 0 });
  });
});

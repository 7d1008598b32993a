import { describe, expect, it } from "vitest";
import type { StoredRecord } from "../../../src/cache/entry.ts";
import { HOT_TIER_MAX_LIFETIME_MS, HOT_TIER_MAX_OBJECT_BYTES, MemoryTier } from "../../../src/cache/memory-tier.ts";

const NOW = 1_000_000;

function record(bodyBytes: number, keepForMs = 60_000): StoredRecord {
  return {
    meta: { v: 1, kind: "response", status: 200, headers: [], storedAt: NOW, initialAgeSeconds: 0, freshUntilAt: NOW + keepForMs, staleWhileRevalidateUntilAt: NOW + keepForMs, staleIfErrorUntilAt: NOW + keepForMs, keepUntilAt: NOW + keepForMs },
    body: new ArrayBuffer(bodyBytes),
  };
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

  it("evicts the least recently used entries beyond its byte budget", () => {
    const tier = new MemoryTier(3 * (1000 + 512));
    for (const key of ["a", "b", "c"]) tier.set(key, record(1000), NOW);
    tier.get("a", NOW); // a becomes the most recently used
    tier.set("d", record(1000), NOW);
    expect(["a", "b", "c", "d"].map((key) => tier.get(key, NOW) !== undefined)).toEqual([true, false, true, true]);
    expect(tier.size.bytes).toBeLessThanOrEqual(3 * 1512);
  });

  it("forgets deleted keys", () => {
    const tier = new MemoryTier();
    tier.set("a", record(10), NOW);
    tier.delete("a");
    expect(tier.get("a", NOW)).toBeUndefined();
  });
});

// The simulator's KV shim (sim/kv-shim.mjs): each production rule it models, stepped across its
// boundary with an injected clock (docs/simulator.md lists the rules and their sources).
import { describe, expect, it } from "vitest";
import { KV_LIMITS, KvError, SimKv } from "../../sim/kv-shim.mjs";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (found: { value: Uint8Array } | null) => (found ? new TextDecoder().decode(found.value) : null);

function shim({ propagationMs = 60_000, scale = 1 } = {}) {
  const clock = { at: 1_000_000 };
  const kv = new SimKv({ now: () => clock.at, propagationMs, scale });
  return { kv, clock };
}

function rejection(work: () => unknown): KvError {
  try {
    work();
  } catch (error) {
    return error as KvError;
  }
  throw new Error("expected the call to throw");
}

describe("the KV shim's propagation", () => {
  it("shows a write at once at the location that made it", () => {
    const { kv } = shim();
    kv.put("FRA", "k", bytes("v1"));
    expect(text(kv.get("FRA", "k"))).toBe("v1");
  });

  it("shows a location its own new write at once, even over its cached copy of the old value", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "k", bytes("v1"));
    expect(text(kv.get("FRA", "k"))).toBe("v1");
    clock.at += 1_000;
    kv.put("FRA", "k", bytes("v2"));
    expect(text(kv.get("FRA", "k"))).toBe("v2");
  });

  it("shows a write at another location only once the propagation delay has passed", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 59_999;
    expect(kv.get("SYD", "k", { cacheTtl: 30 })).toBeNull();
    clock.at += 30_000; // the cached null has expired (cacheTtl 30 s) and the write has propagated
    expect(text(kv.get("SYD", "k", { cacheTtl: 30 }))).toBe("v1");
  });

  it("sees a write propagate at exactly the delay on a location's first read", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 60_000;
    expect(text(kv.get("IAD", "k"))).toBe("v1");
  });

  it("divides the propagation delay by the scale", () => {
    const { kv, clock } = shim({ scale: 10 });
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 5_999;
    expect(kv.get("IAD", "k")).toBeNull();
    const fresh = shim({ scale: 10 });
    fresh.kv.put("FRA", "k", bytes("v1"));
    fresh.clock.at += 6_000;
    expect(text(fresh.kv.get("IAD", "k"))).toBe("v1");
  });

  it("keeps serving the old value at another location until the new one propagates", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 60_000;
    kv.put("FRA", "k", bytes("v2"));
    clock.at += 1_000;
    expect(text(kv.get("IAD", "k"))).toBe("v1");
    expect(text(kv.get("FRA", "k"))).toBe("v2");
  });

  it("propagates deletes like writes", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 60_000;
    kv.delete("FRA", "k");
    clock.at += 1_000;
    expect(text(kv.get("IAD", "k"))).toBe("v1");
    expect(kv.get("FRA", "k")).toBeNull();
  });
});

describe("the KV shim's per-location read cache", () => {
  it("answers a location from its cached copy for cacheTtl, then reads the store again", () => {
    const { kv, clock } = shim({ propagationMs: 0 });
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 1_000;
    expect(text(kv.get("IAD", "k", { cacheTtl: 30 }))).toBe("v1");
    clock.at += 1_000;
    kv.put("FRA", "k", bytes("v2"));
    clock.at += 28_999; // 29.999 s after IAD's read
    expect(text(kv.get("IAD", "k", { cacheTtl: 30 }))).toBe("v1");
    clock.at += 1;
    expect(text(kv.get("IAD", "k", { cacheTtl: 30 }))).toBe("v2");
    expect(kv.snapshot().perLocation.IAD!.cachedReads).toBe(1);
  });

  it("caches a read for 60 s when no cacheTtl is given", () => {
    const { kv, clock } = shim({ propagationMs: 0 });
    expect(kv.get("IAD", "k")).toBeNull();
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 59_999;
    expect(kv.get("IAD", "k")).toBeNull();
    clock.at += 1;
    expect(text(kv.get("IAD", "k"))).toBe("v1");
  });

  it("caches negative lookups: a key written after a location read it as absent stays absent there for cacheTtl", () => {
    const { kv, clock } = shim({ propagationMs: 0 });
    expect(kv.get("SYD", "k", { cacheTtl: 30 })).toBeNull();
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 29_999;
    expect(kv.get("SYD", "k", { cacheTtl: 30 })).toBeNull();
    clock.at += 1;
    expect(text(kv.get("SYD", "k", { cacheTtl: 30 }))).toBe("v1");
    expect(kv.snapshot().perLocation.SYD!.negativeReads).toBe(2);
  });

  it("refuses a cacheTtl under 30 s", () => {
    const { kv } = shim();
    expect(rejection(() => kv.get("FRA", "k", { cacheTtl: 29 })).status).toBe(400);
    expect(kv.get("FRA", "k", { cacheTtl: 30 })).toBeNull();
  });
});

describe("the KV shim's write limits", () => {
  it("allows one write per second per key and answers 429 beyond it", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 999;
    const error = rejection(() => kv.put("IAD", "k", bytes("v2")));
    expect(error.status).toBe(429);
    expect(error.message).toContain("429 Too Many Requests");
    kv.put("IAD", "other", bytes("x")); // another key is not limited
    clock.at += 1;
    kv.put("IAD", "k", bytes("v3"));
    expect(kv.snapshot().total.rateLimited).toBe(1);
  });

  it("counts deletes as writes to the key", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 500;
    expect(rejection(() => kv.delete("FRA", "k")).status).toBe(429);
  });

  it("scales the write interval with the run", () => {
    const { kv, clock } = shim({ scale: 10 });
    kv.put("FRA", "k", bytes("v1"));
    clock.at += 99;
    expect(rejection(() => kv.put("FRA", "k", bytes("v2"))).status).toBe(429);
    clock.at += 1;
    kv.put("FRA", "k", bytes("v3"));
  });

  it("refuses an expirationTtl under 60 s and expires a key after its TTL", () => {
    const { kv, clock } = shim();
    expect(rejection(() => kv.put("FRA", "k", bytes("v"), { expirationTtl: 59 })).status).toBe(400);
    kv.put("FRA", "k", bytes("v"), { expirationTtl: 60 });
    clock.at += 59_999;
    expect(text(kv.get("FRA", "k"))).toBe("v");
    const other = shim();
    other.kv.put("FRA", "k", bytes("v"), { expirationTtl: 60 });
    other.clock.at += 60_000;
    expect(other.kv.get("FRA", "k")).toBeNull();
  });

  it("refuses an absolute expiration less than 60 s ahead", () => {
    const { kv, clock } = shim();
    expect(rejection(() => kv.put("FRA", "k", bytes("v"), { expiration: (clock.at + 59_000) / 1000 })).status).toBe(400);
    kv.put("FRA", "k", bytes("v"), { expiration: (clock.at + 60_000) / 1000 });
  });

  it("accepts a value of 25 MiB and refuses one byte more", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "big", new Uint8Array(KV_LIMITS.valueBytes));
    clock.at += 1_000;
    expect(rejection(() => kv.put("FRA", "big", new Uint8Array(KV_LIMITS.valueBytes + 1))).status).toBe(413);
  });

  it("refuses keys over 512 bytes and metadata over 1024 bytes", () => {
    const { kv } = shim();
    kv.put("FRA", "k".repeat(512), bytes("v"));
    expect(rejection(() => kv.put("FRA", "k".repeat(513), bytes("v"))).status).toBe(414);
    kv.put("FRA", "m1", bytes("v"), { metadata: { a: "x".repeat(1016) } }); // 1024 bytes serialised
    expect(rejection(() => kv.put("FRA", "m2", bytes("v"), { metadata: { a: "x".repeat(1017) } })).status).toBe(413);
  });
});

describe("the KV shim's list, metadata and faults", () => {
  it("lists what the location can see, with metadata and expiration, page by page", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "p:1", bytes("a"), { metadata: { n: 1 }, expirationTtl: 120 });
    kv.put("FRA", "p:2", bytes("b"));
    kv.put("FRA", "q:1", bytes("c"));
    expect(kv.list("IAD", { prefix: "p:" }).keys).toEqual([]);
    const page = kv.list("FRA", { prefix: "p:", limit: 1 });
    expect(page.keys).toEqual([{ name: "p:1", metadata: { n: 1 }, expiration: Math.floor((clock.at + 120_000) / 1000) }]);
    expect(page.list_complete).toBe(false);
    expect(kv.list("FRA", { prefix: "p:", cursor: page.cursor }).keys.map((key: { name: string }) => key.name)).toEqual(["p:2"]);
  });

  it("returns metadata with a read", () => {
    const { kv } = shim();
    kv.put("FRA", "k", bytes("v"), { metadata: { bytes: 1 } });
    expect(kv.get("FRA", "k")!.metadata).toEqual({ bytes: 1 });
  });

  it("fails every call at a failing location until the outage ends, and only there", () => {
    const { kv, clock } = shim();
    kv.failLocation("SYD", clock.at + 10_000);
    expect(rejection(() => kv.get("SYD", "k")).status).toBe(500);
    expect(rejection(() => kv.put("SYD", "k", bytes("v"))).status).toBe(500);
    kv.put("FRA", "k", bytes("v"));
    clock.at += 10_000;
    expect(kv.get("SYD", "k", { cacheTtl: 30 })).toBeNull(); // working again; the write has not propagated yet
    expect(kv.snapshot().perLocation.SYD).toMatchObject({ get: 2, put: 1, errors: 2 });
  });

  it("counts operations by kind per location and in total", () => {
    const { kv, clock } = shim();
    kv.put("FRA", "a", bytes("1"));
    kv.get("FRA", "a");
    kv.get("IAD", "a");
    clock.at += 1_000;
    kv.delete("IAD", "a");
    kv.list("IAD");
    expect(kv.snapshot().total).toMatchObject({ get: 2, put: 1, delete: 1, list: 1 });
    expect(kv.snapshot().perLocation.IAD).toMatchObject({ get: 1, delete: 1, list: 1 });
  });
});

// The storage tiers on the real Cache API and KV: what a read returns, whole or streamed.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { encodeRecord, StreamedBody, type ResponseEntryMeta } from "../../../src/cache/entry.ts";
import { ColoTier, KeyThrottle, KvTier, STREAMED_VALUE_MIN_BYTES, TieredStore } from "../../../src/cache/tiered-store.ts";

const meta: ResponseEntryMeta = {
  v: 1, kind: "response", status: 200, headers: [["content-type", "application/octet-stream"]],
  storedAt: 0, initialAgeSeconds: 0, freshUntilAt: 60_000, staleWhileRevalidateUntilAt: 60_000, staleIfErrorUntilAt: 120_000, keepUntilAt: 120_000,
};
const kv = (env as unknown as { OUTPOST_CACHE: KVNamespace }).OUTPOST_CACHE;
const bodyOf = (size: number) => new Uint8Array(size).map((_, i) => i % 251);

describe("ColoTier (the Cache API)", () => {
  it("reads a small value whole and streams one from STREAMED_VALUE_MIN_BYTES on, with its length", async () => {
    const colo = new ColoTier(caches.default);
    const small = encodeRecord(meta, bodyOf(10_000));
    const large = encodeRecord(meta, bodyOf(STREAMED_VALUE_MIN_BYTES));
    await colo.put("tier-small", small, 60);
    await colo.put("tier-large", large, 60);

    const whole = await colo.get("tier-small");
    expect(whole).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(whole as ArrayBuffer)).toEqual(new Uint8Array(small));

    const streamed = await colo.get("tier-large");
    expect(streamed).not.toBeInstanceOf(ArrayBuffer);
    const { stream, byteLength } = streamed as { stream: ReadableStream; byteLength: number };
    expect(byteLength).toBe(large.byteLength);
    expect(new Uint8Array(await new Response(stream).arrayBuffer())).toEqual(new Uint8Array(large));
  });
});

describe("KvTier", () => {
  it("reads a value whole until it knows the key is large (it wrote it, or read it whole), then streams it with its length", async () => {
    const large = encodeRecord(meta, bodyOf(STREAMED_VALUE_MIN_BYTES));
    const writer = new KvTier(kv);
    await writer.put("kv-large", large, 60);
    const fromWriter = await writer.get("kv-large");
    expect(fromWriter).not.toBeInstanceOf(ArrayBuffer);
    expect((fromWriter as { byteLength: number }).byteLength).toBe(large.byteLength);
    expect(new Uint8Array(await new Response((fromWriter as { stream: ReadableStream }).stream).arrayBuffer())).toEqual(new Uint8Array(large));

    const reader = new KvTier(kv); // another isolate
    expect(await reader.get("kv-large")).toBeInstanceOf(ArrayBuffer);
    reader.readWholeLarge("kv-large");
    expect(await reader.get("kv-large")).not.toBeInstanceOf(ArrayBuffer);
  });

  it("reads a known-large key whole again once its value is small, and forgets it", async () => {
    const writer = new KvTier(kv);
    await writer.put("kv-shrinks", encodeRecord(meta, bodyOf(STREAMED_VALUE_MIN_BYTES)), 60);
    const small = encodeRecord(meta, bodyOf(100));
    await kv.put("kv-shrinks", small); // written elsewhere, without metadata
    const read = await writer.get("kv-shrinks");
    expect(new Uint8Array(read as ArrayBuffer)).toEqual(new Uint8Array(small));
    expect(await writer.get("kv-shrinks")).toBeInstanceOf(ArrayBuffer);
  });
});

describe("TieredStore", () => {
  it("finds a large entry in the location tier with its body streaming, and does not refill the hot tier with it", async () => {
    const body = bodyOf(STREAMED_VALUE_MIN_BYTES + 123);
    await new ColoTier(caches.default).put("store-large", encodeRecord(meta, body), 60);
    const store = new TieredStore([new ColoTier(caches.default), new KvTier(kv)], new KeyThrottle(1_000));
    const found = await store.getFromStorage("store-large", () => {}, 0);
    expect(found?.tier).toBe("colo");
    const stored = found!.record;
    expect(stored.meta).toEqual(meta);
    expect(stored.body).toBeInstanceOf(StreamedBody);
    expect(stored.body.byteLength).toBe(body.byteLength);
    expect(new Uint8Array(await (stored.body as StreamedBody).bytes())).toEqual(body);
  });

  it("inspects a large entry by its header alone (explain)", async () => {
    await new ColoTier(caches.default).put("store-inspect", encodeRecord(meta, bodyOf(STREAMED_VALUE_MIN_BYTES)), 60);
    const store = new TieredStore([new ColoTier(caches.default)], new KeyThrottle(1_000));
    const [colo] = await store.inspect("store-inspect", 0);
    expect(colo?.record?.meta).toEqual(meta);
    expect(colo?.record?.body.byteLength).toBe(STREAMED_VALUE_MIN_BYTES);
  });

  it("learns from a large value read whole from KV: the next read streams it", async () => {
    await new KvTier(kv).put("store-kv-learn", encodeRecord(meta, bodyOf(STREAMED_VALUE_MIN_BYTES)), 60); // written by another isolate
    const store = new TieredStore([new KvTier(kv)], new KeyThrottle(1_000));
    const first = await store.getFromStorage("store-kv-learn", () => {}, 0);
    expect(first!.record.body).toBeInstanceOf(Uint8Array);
    const second = await store.getFromStorage("store-kv-learn", () => {}, 0);
    expect(second!.record.body).toBeInstanceOf(StreamedBody);
    await (second!.record.body as StreamedBody).stream.cancel();
  });

  it("streams a large KV value into the location tier while the client reads it", async () => {
    const body = bodyOf(STREAMED_VALUE_MIN_BYTES + 5);
    const kvTier = new KvTier(kv);
    await kvTier.put("store-kv-large", encodeRecord(meta, body), 60); // this isolate wrote it: known large
    const store = new TieredStore([new ColoTier(caches.default), kvTier], new KeyThrottle(1_000));
    const refills: Array<Promise<unknown>> = [];
    const found = await store.getFromStorage("store-kv-large", (work) => refills.push(work), 0);
    expect(found?.tier).toBe("kv");
    expect(found!.record.body).toBeInstanceOf(StreamedBody);
    expect(new Uint8Array(await (found!.record.body as StreamedBody).bytes())).toEqual(body);
    await Promise.all(refills);
    const again = await store.getFromStorage("store-kv-large", () => {}, 0);
    expect(again?.tier).toBe("colo");
    expect(new Uint8Array(await (again!.record.body as StreamedBody).bytes())).toEqual(body);
  });
});

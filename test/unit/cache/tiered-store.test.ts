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

  it("reads KV whole, large or not, and refills the location tier from it", async () => {
    const record = encodeRecord(meta, bodyOf(STREAMED_VALUE_MIN_BYTES + 5));
    await kv.put("store-kv-large", record);
    const store = new TieredStore([new ColoTier(caches.default), new KvTier(kv)], new KeyThrottle(1_000));
    const refills: Array<Promise<unknown>> = [];
    const found = await store.getFromStorage("store-kv-large", (work) => refills.push(work), 0);
    expect(found?.tier).toBe("kv");
    expect(found!.record.body).toBeInstanceOf(Uint8Array);
    await Promise.all(refills);
    expect((await store.getFromStorage("store-kv-large", () => {}, 0))?.tier).toBe("colo");
  });
});

import { describe, expect, it } from "vitest";
import {
  decodeRecord,
  encodeRecord,
  encodeRecordHead,
  metaBytes,
  parsedHeaderMemoSize,
  PARSED_HEADERS_MAX_BYTES,
  readRecord,
  readStreamedRecord,
  recordBytes,
  retentionSeconds,
  MAX_RETENTION_SECONDS,
  type ResponseEntryMeta,
  type StoredResponse,
  type VaryMarkerMeta,
} from "../../../src/cache/entry.ts";

const meta: ResponseEntryMeta = {
  v: 1, kind: "response", status: 200, headers: [["content-type", "text/plain"]], tags: ["a"],
  storedAt: 0, initialAgeSeconds: 0, freshUntilAt: 60_000, staleWhileRevalidateUntilAt: 60_000, staleIfErrorUntilAt: 120_000, keepUntilAt: 120_000,
};
const bytes = (text: string) => new TextEncoder().encode(text);

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(bytes(chunk));
      controller.close();
    },
  });
}

async function read(chunks: string[], declared: number | undefined, limit = 1_000) {
  const record = await readRecord(streamOf(...chunks), limit, encodeRecordHead(meta), declared);
  if (!record) return undefined;
  // The record must be exactly what encodeRecord would have written.
  expect(new Uint8Array(record.encoded)).toEqual(new Uint8Array(encodeRecord(meta, record.body)));
  const decoded = decodeRecord(record.encoded);
  expect(decoded?.meta).toEqual(meta);
  return new TextDecoder().decode(record.body);
}

describe("readRecord", () => {
  it.each([
    ["the announced length", ["hel", "lo"], 5],
    ["no announced length (chunked)", ["hel", "lo"], undefined],
    ["more than announced (a body the runtime decompressed)", ["hel", "lo"], 3],
    ["less than announced", ["hel", "lo"], 9],
  ])("builds the record from a body of %s", async (_case, chunks, declared) => {
    expect(await read(chunks, declared)).toBe("hello");
  });

  it("gives up past the limit, whatever was announced", async () => {
    expect(await read(["12345", "6"], 5, 5)).toBeUndefined();
    expect(await read(["123456"], undefined, 5)).toBeUndefined();
    expect(await read(["12345"], 5, 5)).toBe("12345");
  });

  it("reads an empty body", async () => {
    expect(await readRecord(null, 10, encodeRecordHead(meta), 0)).toMatchObject({ body: new Uint8Array(0) });
  });

  /** A reservation that grows up to `max` bytes and records every size asked for. */
  function reservation(max: number) {
    const asked: number[] = [];
    return { asked, resize: (size: number) => (asked.push(size), size <= max) };
  }
  const head = encodeRecordHead(meta);

  it("reserves the head and the announced body before reading, and gives up when that is refused", async () => {
    const enough = reservation(head.length + 5);
    expect(await readRecord(streamOf("hel", "lo"), 1_000, head, 5, enough)).toBeDefined();
    expect(enough.asked[0]).toBe(head.length + 5);
    expect(enough.asked.at(-1)).toBe(head.length + 5);
    expect(await readRecord(streamOf("hel", "lo"), 1_000, head, 5, reservation(head.length + 4))).toBeUndefined();
  });

  it("grows the reservation with an unannounced body, twice the body while joining its chunks, then back to the record", async () => {
    const growing = reservation(Number.POSITIVE_INFINITY);
    expect(await readRecord(streamOf("hel", "lo"), 1_000, head, undefined, growing)).toBeDefined();
    expect(growing.asked).toEqual([head.length, head.length + 3, head.length + 5, head.length + 10, head.length + 5]);
    expect(await readRecord(streamOf("hel", "lo"), 1_000, head, undefined, reservation(head.length + 4))).toBeUndefined();
    expect(await readRecord(streamOf("hel", "lo"), 1_000, head, undefined, reservation(head.length + 9))).toBeUndefined(); // the join
  });

  /** A byte stream (as a fetch body is): readRecord reads it into the record with a BYOB reader. */
  function byteStreamOf(...chunks: string[]): ReadableStream<Uint8Array> {
    return new ReadableStream({
      type: "bytes",
      start(controller) {
        for (const chunk of chunks) controller.enqueue(bytes(chunk));
        controller.close();
      },
    });
  }

  it.each([
    ["the announced length", 5],
    ["more than announced", 3],
    ["less than announced", 9],
  ])("builds the record in place from a byte stream of %s", async (_case, declared) => {
    const record = await readRecord(byteStreamOf("hel", "lo"), 1_000, head, declared);
    expect(new Uint8Array(record!.encoded)).toEqual(new Uint8Array(encodeRecord(meta, bytes("hello").buffer as ArrayBuffer)));
    expect(new TextDecoder().decode(record!.body)).toBe("hello");
  });

  it("reserves nothing for an announced body that is not there (HEAD)", async () => {
    const none = reservation(Number.POSITIVE_INFINITY);
    expect(await readRecord(null, 1_000, head, 500, none)).toMatchObject({ body: new Uint8Array(0) });
    expect(Math.max(...none.asked)).toBe(head.length);
  });

  it("grows the reservation when a body is longer than announced", async () => {
    expect(await readRecord(streamOf("hel", "lo"), 1_000, head, 3, reservation(head.length + 3))).toBeUndefined();
  });
});

describe("recordBytes", () => {
  const body = new Uint8Array(1_000);
  it("counts the header's fields, not only the body", () => {
    const small = recordBytes({ meta, body });
    const big = recordBytes({ meta: { ...meta, headers: [...meta.headers, ["x-big", "h".repeat(64 * 1024)]] }, body });
    expect(big - small).toBeGreaterThanOrEqual(2 * 64 * 1024);
    expect(small).toBeGreaterThan(body.byteLength);
  });

  it("counts the whole buffer a body views (a value read from a tier), once", () => {
    const encoded = encodeRecord(meta, body);
    const decoded = decodeRecord(encoded)!;
    expect(recordBytes(decoded)).toBeGreaterThanOrEqual(encoded.byteLength);
    const fromFill = { meta, body: new Uint8Array(encoded, encoded.byteLength - 1_000), encoded };
    expect(recordBytes(fromFill)).toBe(encoded.byteLength + metaBytes(meta, false));
  });

  it("counts an encoded record that is another buffer, and the prepared Headers object", () => {
    const encoded = encodeRecord(meta, body);
    expect(recordBytes({ meta, body, encoded })).toBe(body.byteLength + encoded.byteLength + metaBytes(meta, false));
    expect(metaBytes(meta, true)).toBeGreaterThan(metaBytes(meta, false));
  });
});

describe("readStreamedRecord", () => {
  /** The record's bytes as a stream of `chunkSize`-byte chunks. */
  function recordStream(record: ArrayBuffer, chunkSize: number): ReadableStream<Uint8Array> {
    const all = new Uint8Array(record);
    let offset = 0;
    return new ReadableStream({
      pull(controller) {
        if (offset >= all.length) return controller.close();
        controller.enqueue(all.slice(offset, offset + chunkSize));
        offset += chunkSize;
      },
    });
  }

  it.each([3, 4096, 1 << 20])("parses the header and leaves the body streaming, in chunks of %i bytes", async (chunkSize) => {
    const record = encodeRecord({ ...meta, tags: ["streamed"] }, bytes("the body of a large object").buffer as ArrayBuffer);
    const streamed = await readStreamedRecord(recordStream(record, chunkSize), record.byteLength);
    expect(streamed?.meta).toEqual({ ...meta, tags: ["streamed"] });
    expect([...streamed!.headers!]).toEqual(meta.headers);
    expect(streamed?.body.byteLength).toBe(26);
    expect(await new Response(streamed!.body.stream).text()).toBe("the body of a large object");
  });

  it("reads the rest whole when asked for the bytes", async () => {
    const record = encodeRecord(meta, bytes("0123456789").buffer as ArrayBuffer);
    const streamed = await readStreamedRecord(recordStream(record, 7), record.byteLength);
    expect(new TextDecoder().decode(await streamed!.body.bytes())).toBe("0123456789");
  });

  it("refuses a value shorter than its header says, a header longer than the value, and a Vary marker", async () => {
    const record = encodeRecord(meta, bytes("body").buffer as ArrayBuffer);
    const headerEnd = new DataView(record).getUint32(0) + 4;
    expect(await readStreamedRecord(recordStream(record.slice(0, headerEnd - 1), 5), record.byteLength)).toBeUndefined();
    expect(await readStreamedRecord(recordStream(record, 5), headerEnd - 1)).toBeUndefined();
    const marker: VaryMarkerMeta = { v: 1, kind: "vary", headers: ["accept"], generation: "g", expiresAt: 1 };
    const markerRecord = encodeRecord(marker);
    expect(await readStreamedRecord(recordStream(markerRecord, 5), markerRecord.byteLength)).toBeUndefined();
  });
});

describe("retentionSeconds", () => {
  it("keeps a record until nothing about it can be used, never more than 30 days", () => {
    expect(retentionSeconds(meta, 0)).toBe(120);
    expect(retentionSeconds({ ...meta, keepUntilAt: 365 * 86_400_000 }, 0)).toBe(MAX_RETENTION_SECONDS);
  });
});

describe("decodeRecord", () => {
  it("parses a record's header once per isolate: the same bytes again share the parsed header and its prepared Headers", () => {
    const first = decodeRecord(encodeRecord({ ...meta, tags: ["decode-shared"] }, bytes("one").buffer as ArrayBuffer));
    const again = decodeRecord(encodeRecord({ ...meta, tags: ["decode-shared"] }, bytes("two").buffer as ArrayBuffer));
    expect(again?.meta).toBe(first?.meta);
    const stored = again as StoredResponse;
    expect(stored.headers).toBe((first as StoredResponse).headers);
    expect([...stored.headers!]).toEqual(meta.headers);
    expect(new TextDecoder().decode(stored.body)).toBe("two"); // the body is each read's own
  });

  it("does not keep a large header: it is parsed at every read", () => {
    const large = { ...meta, headers: [["link", "x".repeat(5_000)]] as Array<[string, string]> };
    const first = decodeRecord(encodeRecord(large));
    const again = decodeRecord(encodeRecord(large));
    expect(again?.meta).toEqual(first?.meta);
    expect(again?.meta).not.toBe(first?.meta);
  });

  it("keeps the parsed headers within PARSED_HEADERS_MAX_BYTES, counting their text and fields", () => {
    const field = "v".repeat(3_000); // under the 4 KB text limit: remembered
    for (let index = 0; index < 400; index += 1) decodeRecord(encodeRecord({ ...meta, headers: [["x", field]], tags: [`memo-${index}`] }));
    const { entries, bytes } = parsedHeaderMemoSize();
    expect(bytes).toBeLessThanOrEqual(PARSED_HEADERS_MAX_BYTES);
    expect(entries).toBeLessThan(400); // 400 x ~15 KB counted does not fit in 2 MiB
    expect(bytes).toBeGreaterThanOrEqual(entries * 3_000 * 2);
  });

  it("parses a changed header anew, and refuses what is not a record", () => {
    const before = decodeRecord(encodeRecord({ ...meta, tags: ["decode-changed"] }));
    const after = decodeRecord(encodeRecord({ ...meta, tags: ["decode-changed"], status: 404 }));
    expect(after?.meta).not.toBe(before?.meta);
    expect(after?.meta.kind === "response" && after.meta.status).toBe(404);
    const notJson = new Uint8Array([0, 0, 0, 2, 123, 120]).buffer;
    expect(decodeRecord(notJson)).toBeUndefined();
    expect(decodeRecord(encodeRecord({ ...meta, v: 2 } as unknown as ResponseEntryMeta))).toBeUndefined();
    expect(decodeRecord(encodeRecord({ ...meta, v: 2 } as unknown as ResponseEntryMeta))).toBeUndefined(); // not remembered as valid
  });
});

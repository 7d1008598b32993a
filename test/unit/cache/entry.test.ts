import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord, encodeRecordHead, readRecord, retentionSeconds, MAX_RETENTION_SECONDS, type ResponseEntryMeta } from "../../../src/cache/entry.ts";

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
});

describe("retentionSeconds", () => {
  it("keeps a record until nothing about it can be used, never more than 30 days", () => {
    expect(retentionSeconds(meta, 0)).toBe(120);
    expect(retentionSeconds({ ...meta, keepUntilAt: 365 * 86_400_000 }, 0)).toBe(MAX_RETENTION_SECONDS);
  });
});

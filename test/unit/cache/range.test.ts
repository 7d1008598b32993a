import { describe, expect, it } from "vitest";
import { decideRange, ifRangeAllows, sliceStream } from "../../../src/cache/range.ts";

describe("decideRange", () => {
  it.each([
    [null, 100, { kind: "full" }],
    ["bytes=0-9", 100, { kind: "partial", start: 0, end: 9 }],
    ["bytes=90-", 100, { kind: "partial", start: 90, end: 99 }],
    ["bytes=90-200", 100, { kind: "partial", start: 90, end: 99 }],
    ["bytes=-10", 100, { kind: "partial", start: 90, end: 99 }],
    ["bytes=-200", 100, { kind: "partial", start: 0, end: 99 }],
    ["BYTES = 5 - 6", 100, { kind: "partial", start: 5, end: 6 }],
    ["bytes=100-", 100, { kind: "unsatisfiable" }],
    ["bytes=-0", 100, { kind: "unsatisfiable" }],
    ["bytes=9-5", 100, { kind: "full" }],
    ["bytes=0-1,5-6", 100, { kind: "full" }],
    ["items=0-1", 100, { kind: "full" }],
    ["bytes=-", 100, { kind: "full" }],
    ["garbage", 100, { kind: "full" }],
    [`bytes=0-9${" ".repeat(248)}`, 100, { kind: "full" }], // over 256 bytes: ignored unparsed
    [`bytes=0-9${" ".repeat(247)}`, 100, { kind: "partial", start: 0, end: 9 }],
  ])("reads %s of %d bytes", (header, size, expected) => {
    expect(decideRange(header, size)).toEqual(expected);
  });
});

describe("ifRangeAllows", () => {
  const stored = new Headers({ etag: '"abc"', "last-modified": "Wed, 21 Oct 2015 07:28:00 GMT" });
  it.each([
    [null, true],
    ['"abc"', true],
    ['"xyz"', false],
    ['W/"abc"', false],
    ["Wed, 21 Oct 2015 07:28:00 GMT", true],
    ["Thu, 22 Oct 2015 07:28:00 GMT", false],
    ["2015-10-21T07:28:00Z", false], // not an HTTP-date (RFC 9110 §5.6.7)
  ])("If-Range %s -> %s", (value, allowed) => {
    expect(ifRangeAllows(value, stored, Date.UTC(2026, 0, 1))).toBe(allowed);
  });
});

describe("sliceStream", () => {
  /** "0123456789..." in chunks of `size`, recording whether the rest was cancelled. */
  function digits(total: number, size: number) {
    const text = Array.from({ length: total }, (_, i) => String(i % 10)).join("");
    const seen = { pulled: 0, cancelled: false };
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= total) return controller.close();
        controller.enqueue(new TextEncoder().encode(text.slice(offset, offset + size)));
        offset += size;
        seen.pulled += 1;
      },
      cancel() {
        seen.cancelled = true;
      },
    }, { highWaterMark: 0 });
    return { text, stream, seen };
  }

  it.each([
    ["inside one chunk", 2, 4, 10],
    ["across chunks", 8, 23, 10],
    ["to the last byte", 90, 99, 10],
    ["one byte at a chunk's edge", 10, 10, 10],
    ["chunks of one byte", 5, 9, 1],
  ])("keeps only the range's bytes: %s", async (_case, start, end, chunkSize) => {
    const { text, stream } = digits(100, chunkSize);
    expect(await new Response(sliceStream(stream, start, end)).text()).toBe(text.slice(start, end + 1));
  });

  it("stops reading the source once the range is complete", async () => {
    const { stream, seen } = digits(1000, 10);
    expect(await new Response(sliceStream(stream, 0, 14)).text()).toBe("012345678901234");
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBeLessThan(5);
  });
});

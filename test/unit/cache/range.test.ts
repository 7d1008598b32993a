import { describe, expect, it } from "vitest";
import { decideRange, ifRangeAllows } from "../../../src/cache/range.ts";

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
  ])("If-Range %s -> %s", (value, allowed) => {
    expect(ifRangeAllows(value, stored)).toBe(allowed);
  });
});

// RFC 9111 §4.3.4 (which stored response a 304 selects) and §3.2 (which of its fields update it).
import { describe, expect, it } from "vitest";
import { selectsStoredResponse, updatesStoredField } from "../../../src/cache/not-modified.ts";

const stored = (fields: Record<string, string>) => (name: string) => fields[name] ?? null;
type Case = { case: string; notModified: Record<string, string>; stored: Record<string, string>; selects: boolean };

describe("selectsStoredResponse (RFC 9111 §4.3.4)", () => {
  it.each([
    { case: "the same strong ETag", notModified: { etag: '"v1"' }, stored: { etag: '"v1"' }, selects: true },
    { case: "another strong ETag", notModified: { etag: '"v2"' }, stored: { etag: '"v1"' }, selects: false },
    { case: "a strong ETag against a weak stored one (strong comparison)", notModified: { etag: '"v1"' }, stored: { etag: 'W/"v1"' }, selects: false },
    { case: "a strong ETag when the stored response has none", notModified: { etag: '"v1"' }, stored: { "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" }, selects: false },
    { case: "a weak ETag matching weakly", notModified: { etag: 'W/"v1"' }, stored: { etag: '"v1"' }, selects: true },
    { case: "a weak ETag not matching", notModified: { etag: 'W/"v2"' }, stored: { etag: 'W/"v1"' }, selects: false },
    { case: "the same Last-Modified, no ETag", notModified: { "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" }, stored: { "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" }, selects: true },
    { case: "another Last-Modified", notModified: { "last-modified": "Thu, 02 Jan 2020 00:00:00 GMT" }, stored: { "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" }, selects: false },
    { case: "no validator at all: the answer to the one conditional request sent", notModified: {}, stored: { etag: '"v1"' }, selects: true },
    { case: "a matching strong ETag with another Last-Modified (the strong validator decides)", notModified: { etag: '"v1"', "last-modified": "Thu, 02 Jan 2020 00:00:00 GMT" }, stored: { etag: '"v1"', "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" }, selects: true },
  ] satisfies Case[] as Case[])("$case: $selects", ({ notModified, stored: fields, selects }) => {
    expect(selectsStoredResponse(new Headers(notModified), stored(fields))).toBe(selects);
  });
});

describe("updatesStoredField (RFC 9111 §3.2)", () => {
  it.each(["content-length", "content-encoding", "content-range", "content-md5", "etag", "set-cookie", "via"])("keeps the stored %s", (name) => {
    expect(updatesStoredField(name)).toBe(false);
  });
  it.each(["cache-control", "expires", "content-type", "content-location", "x-test-header", "date"])("takes the 304's %s", (name) => {
    expect(updatesStoredField(name)).toBe(true);
  });
});

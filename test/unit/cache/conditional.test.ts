import { describe, expect, it } from "vitest";
import { isNotModified, type HeaderLookup } from "../../../src/cache/conditional.ts";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const RECEIVED_AT = Date.UTC(2026, 10, 23, 11, 0, 0);
const httpDate = (ms: number) => new Date(ms).toUTCString();
const LAST_MODIFIED = Date.UTC(2026, 10, 1);

const stored = (fields: Record<string, string>): HeaderLookup => (name) => fields[name] ?? null;
const request = (fields: Record<string, string>) => new Headers(fields);

describe("If-Modified-Since against a stored response (RFC 9110 §13.1.3, RFC 9111 §4.3.2)", () => {
  const withLastModified = stored({ "last-modified": httpDate(LAST_MODIFIED), etag: '"v1"' });

  it.each([
    ["the Last-Modified time itself", httpDate(LAST_MODIFIED), true],
    ["a later time", httpDate(LAST_MODIFIED + 1000), true],
    ["an earlier time", httpDate(LAST_MODIFIED - 1000), false],
    ["an rfc850-date", "Sunday, 01-Nov-26 00:00:00 GMT", true],
    ["an asctime-date", "Sun Nov  1 00:00:00 2026", true],
  ])("answers 304 only when unchanged since %s", (_case, ifModifiedSince, notModified) => {
    expect(isNotModified(request({ "if-modified-since": ifModifiedSince }), withLastModified, RECEIVED_AT, NOW)).toBe(notModified);
  });

  it.each([
    ["an ISO date", "2030-01-01"],
    ["an ISO date-time", "2030-01-01T00:00:00Z"],
    ["a date in another zone", "Tue, 01 Jan 2030 00:00:00 UTC"],
    ["a date without its comma", "Tue 01 Jan 2030 00:00:00 GMT"],
    ["two dates", `${httpDate(LAST_MODIFIED)}, ${httpDate(LAST_MODIFIED)}`],
  ])("ignores an If-Modified-Since that is not one valid HTTP-date: %s", (_case, ifModifiedSince) => {
    expect(isNotModified(request({ "if-modified-since": ifModifiedSince }), withLastModified, RECEIVED_AT, NOW)).toBe(false);
  });

  it("ignores If-Modified-Since when If-None-Match is present", () => {
    const headers = request({ "if-none-match": '"other"', "if-modified-since": httpDate(LAST_MODIFIED + 1000) });
    expect(isNotModified(headers, withLastModified, RECEIVED_AT, NOW)).toBe(false);
  });

  it("falls back to the stored Date without a Last-Modified", () => {
    const dated = stored({ date: httpDate(RECEIVED_AT - 60_000) });
    expect(isNotModified(request({ "if-modified-since": httpDate(RECEIVED_AT - 60_000) }), dated, RECEIVED_AT, NOW)).toBe(true);
    expect(isNotModified(request({ "if-modified-since": httpDate(RECEIVED_AT - 61_000) }), dated, RECEIVED_AT, NOW)).toBe(false);
  });

  it("falls back to when the response was received without Last-Modified or Date", () => {
    const bare = stored({});
    expect(isNotModified(request({ "if-modified-since": httpDate(RECEIVED_AT) }), bare, RECEIVED_AT, NOW)).toBe(true);
    expect(isNotModified(request({ "if-modified-since": httpDate(RECEIVED_AT - 1000) }), bare, RECEIVED_AT, NOW)).toBe(false);
  });
});

describe("If-None-Match against a stored response (RFC 9110 §13.1.2)", () => {
  it.each([
    ['"v1"', true],
    ['W/"v1"', true],
    ['"v0", "v1"', true],
    ['"v2"', false],
    ["*", true],
  ])("If-None-Match %s -> %s", (ifNoneMatch, notModified) => {
    expect(isNotModified(request({ "if-none-match": ifNoneMatch }), stored({ etag: '"v1"' }), RECEIVED_AT, NOW)).toBe(notModified);
  });
});

import { describe, expect, it } from "vitest";
import { parseHttpDate } from "../../../src/cache/http-date.ts";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const SUNDAY_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);

describe("parseHttpDate: the three formats of RFC 9110 §5.6.7", () => {
  it.each([
    ["IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT"],
    ["rfc850-date", "Sunday, 06-Nov-94 08:49:37 GMT"],
    ["asctime-date", "Sun Nov  6 08:49:37 1994"],
    ["asctime-date with a two-digit day", "Sun Nov 06 08:49:37 1994"],
    ["names in any case (RFC 9111 §4.2)", "SUN, 06 NOV 1994 08:49:37 gmt"],
    ["white space around the value (RFC 9110 §5.5)", "  Sun, 06 Nov 1994 08:49:37 GMT\t"],
  ])("reads %s", (_format, value) => {
    expect(parseHttpDate(value, NOW)).toBe(SUNDAY_1994);
  });

  it.each([
    ["an ISO date", "2030-01-01"],
    ["an ISO date-time", "2030-01-01T00:00:00Z"],
    ["a bare number", "0"],
    ["an empty value", ""],
    ["a zone other than GMT (RFC 9111 §4.2)", "Sun, 06 Nov 1994 08:49:37 UTC"],
    ["a numeric zone", "Sun, 06 Nov 1994 08:49:37 +0000"],
    ["a missing zone", "Sun, 06 Nov 1994 08:49:37"],
    ["a missing comma", "Sun 06 Nov 1994 08:49:37 GMT"],
    ["two spaces", "Sun, 06  Nov 1994 08:49:37 GMT"],
    ["dashes in an IMF-fixdate", "Sun, 06-Nov-1994 08:49:37 GMT"],
    ["a two-digit year in an IMF-fixdate", "Sun, 06 Nov 94 08:49:37 GMT"],
    ["a one-digit hour", "Sun, 06 Nov 1994 8:49:37 GMT"],
    ["a one-digit day", "Sun, 6 Nov 1994 08:49:37 GMT"],
    ["periods in the time", "Sun, 06 Nov 1994 08.49.37 GMT"],
    ["an unknown day name", "Sux, 06 Nov 1994 08:49:37 GMT"],
    ["a short day name in an rfc850-date", "Sun, 06-Nov-94 08:49:37 GMT"],
    ["an unknown month", "Sun, 06 Nox 1994 08:49:37 GMT"],
    ["day 31 of November", "Sun, 31 Nov 1994 08:49:37 GMT"],
    ["29 February of a common year", "Sun, 29 Feb 1994 08:49:37 GMT"],
    ["hour 24", "Sun, 06 Nov 1994 24:00:00 GMT"],
    ["minute 60", "Sun, 06 Nov 1994 08:60:00 GMT"],
    ["two dates joined by a comma (two field lines)", "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:38 GMT"],
    ["trailing text", "Sun, 06 Nov 1994 08:49:37 GMT junk"],
  ])("rejects %s", (_case, value) => {
    expect(parseHttpDate(value, NOW)).toBeUndefined();
  });

  it("accepts 29 February of a leap year", () => {
    expect(parseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT", NOW)).toBe(Date.UTC(2024, 1, 29));
  });

  it("keeps a leap second as the second before it (RFC 9111 §4.2: nearest earlier time)", () => {
    expect(parseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT", NOW)).toBe(Date.UTC(2016, 11, 31, 23, 59, 59));
  });

  it("takes four-digit years literally, even below 100", () => {
    expect(parseHttpDate("Mon, 01 Jan 0050 00:00:00 GMT", NOW)).toBe(new Date("0050-01-01T00:00:00Z").getTime());
  });

  it("answers undefined for an absent field", () => {
    expect(parseHttpDate(null, NOW)).toBeUndefined();
  });
});

describe("rfc850-date two-digit years: the 50-years rule (RFC 9110 §5.6.7)", () => {
  it.each([
    ["a year up to 50 years ahead in this century", "Thursday, 18-Aug-50 02:01:18 GMT", Date.UTC(2050, 7, 18, 2, 1, 18)],
    ["a year in the past of this century", "Friday, 01-Jan-10 00:00:00 GMT", Date.UTC(2010, 0, 1)],
    ["a year more than 50 years ahead as the last century's", "Friday, 01-Jan-99 00:00:00 GMT", Date.UTC(1999, 0, 1)],
    ["exactly 50 years ahead as this century's", "Monday, 23-Nov-76 12:00:00 GMT", Date.UTC(2076, 10, 23, 12)],
    ["a second beyond 50 years ahead as the last century's", "Monday, 23-Nov-76 12:00:01 GMT", Date.UTC(1976, 10, 23, 12, 0, 1)],
  ])("reads %s", (_case, value, expected) => {
    expect(parseHttpDate(value, NOW)).toBe(expected);
  });

  it("looks ahead into the next century when that is within 50 years", () => {
    const in2090 = Date.UTC(2090, 0, 1);
    expect(parseHttpDate("Monday, 01-Jan-10 00:00:00 GMT", in2090)).toBe(Date.UTC(2110, 0, 1));
  });

  it("takes 29 February from the century where it exists", () => {
    // 2100 is a common year; 2000 was a leap year.
    expect(parseHttpDate("Tuesday, 29-Feb-00 00:00:00 GMT", Date.UTC(2070, 0, 1))).toBe(Date.UTC(2000, 1, 29));
  });
});

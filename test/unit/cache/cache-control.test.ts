import { describe, expect, it } from "vitest";
import { deltaSeconds, has, parseDirectives, parseTargetedDirectives } from "../../../src/cache/cache-control.ts";

describe("parseDirectives", () => {
  it.each([
    ["max-age=60", [["max-age", "60"]]],
    ["public, max-age=60, s-maxage=120", [["public", true], ["max-age", "60"], ["s-maxage", "120"]]],
    ["Max-Age=60,NO-CACHE", [["max-age", "60"], ["no-cache", true]]],
    ['private="set-cookie, x-a", max-age=5', [["private", "set-cookie, x-a"], ["max-age", "5"]]],
    ['max-age="30"', [["max-age", "30"]]],
    ["  max-age = 10 ,  ,public", [["max-age", "10"], ["public", true]]],
    ["", []],
  ])("parses %j", (field, expected) => {
    expect([...parseDirectives(field).values.entries()]).toEqual(expected);
  });

  it("keeps the first of duplicate directives and flags differing duplicates as conflicting", () => {
    const parsed = parseDirectives("max-age=10, max-age=20, public, public");
    expect(parsed.values.get("max-age")).toBe("10");
    expect([...parsed.conflicting]).toEqual(["max-age"]);
  });
});

describe("deltaSeconds", () => {
  it.each([
    ["max-age=60", 60],
    ["max-age=0", 0],
    ["max-age=-1", undefined],
    ["max-age=1.5", undefined],
    ["max-age=abc", undefined],
    ["max-age", undefined],
    ["max-age=99999999999", 2 ** 31],
  ])("reads %s as %s", (field, expected) => {
    expect(deltaSeconds(parseDirectives(field), "max-age")).toBe(expected);
  });

  it("answers has() for argument-less directives", () => {
    expect(has(parseDirectives("no-store"), "no-store")).toBe(true);
    expect(has(parseDirectives("no-storex"), "no-store")).toBe(false);
  });
});

describe("parseTargetedDirectives: CDN-Cache-Control as a Structured Field Dictionary (RFC 9213 §2.1, RFC 9651 §3.2)", () => {
  const entries = (field: string) => {
    const parsed = parseTargetedDirectives(field);
    return parsed && [...parsed.values.entries()];
  };

  it.each([
    ["max-age=60", [["max-age", "60"]]],
    ["max-age=60, no-store", [["max-age", "60"], ["no-store", true]]],
    ["public,max-age=60", [["public", true], ["max-age", "60"]]],
    ['no-cache="set-cookie"', [["no-cache", "set-cookie"]]],
    ["private", [["private", true]]],
    ["max-age=60;foo=bar", [["max-age", "60"]]], // parameters are ignored
    ["foobar, max-age=60", [["foobar", true], ["max-age", "60"]]], // extension directive
    ['x-ext="a", y-ext=tok, z-ext=(1 2)', [["x-ext", "a"], ["y-ext", "tok"], ["z-ext", true]]],
    ["max-age=10, max-age=20", [["max-age", "20"]]], // a Dictionary keeps the last of duplicate keys
    ["max-age=99999999999", [["max-age", "99999999999"]]],
  ])("reads %j", (field, expected) => {
    expect(entries(field)).toEqual(expected);
  });

  it.each([
    ["an unknown character", "max-age=10000, &&&&&"],
    ["an upper-case key", "MAX-AGE=60"],
    ["a space before =", "max-age =60"],
    ["a space after =", "max-age= 60"],
    ["a trailing comma", "max-age=60,"],
    ["an unterminated String", 'no-cache="set-cookie'],
    ["a 16-digit Integer", "max-age=9999999999999999"],
    ["an empty field", ""],
    ["only white space", "   "],
  ])("ignores a field that does not parse: %s", (_case, field) => {
    expect(parseTargetedDirectives(field)).toBeUndefined();
  });

  it.each([
    ["a String max-age", 'max-age="10000"'],
    ["a negative max-age", "max-age=-1"],
    ["a Decimal max-age", "max-age=1.5"],
    ["a Token max-age", "max-age=abc"],
    ["a Boolean max-age", "max-age"],
    ["an Inner List s-maxage", "s-maxage=(1)"],
    ["a false no-store", "no-store=?0"],
    ["a String no-store", 'no-store="yes"'],
    ["an Integer private", "private=1"],
  ])("ignores a field with a directive of the wrong type: %s", (_case, field) => {
    expect(parseTargetedDirectives(field)).toBeUndefined();
  });

  it("answers undefined for an absent field", () => {
    expect(parseTargetedDirectives(null)).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { deltaSeconds, has, parseDirectives } from "../../../src/cache/cache-control.ts";

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

import { describe, expect, it } from "vitest";
import { MAX_TAG_LENGTH, parseCacheTags } from "../../../src/cache/cache-tags.ts";

describe("parseCacheTags", () => {
  it.each([
    [{}, undefined],
    [{ "cache-tag": "A, b ,a" }, ["a", "b"]],
    [{ "surrogate-key": "  One two\tTHREE " }, ["one", "two", "three"]],
    [{ "cache-tag": "x", "surrogate-key": "x y" }, ["x", "y"]],
    [{ "cache-tag": " , " }, undefined],
  ])("%j -> %j", (headers, expected) => {
    expect(parseCacheTags(new Headers(headers))).toEqual(expected);
  });

  it("ignores a tag longer than Cloudflare allows", () => {
    expect(parseCacheTags(new Headers({ "cache-tag": `${"x".repeat(MAX_TAG_LENGTH + 1)},ok` }))).toEqual(["ok"]);
    expect(parseCacheTags(new Headers({ "cache-tag": "y".repeat(MAX_TAG_LENGTH) }))).toEqual(["y".repeat(MAX_TAG_LENGTH)]);
  });
});

import { describe, expect, it } from "vitest";
import { normalizeHostname, normalizeRequestUrl } from "../../../src/lib/hosts.ts";

describe("host normalisation", () => {
  it.each([
    ["WWW.Example.COM", "www.example.com"],
    ["www.example.com.", "www.example.com"],
    ["www.example.com..", "www.example.com"],
    ["example.com", "example.com"],
  ])("spells %s as %s", (host, expected) => {
    expect(normalizeHostname(host)).toBe(expected);
  });

  it("drops a trailing dot and a default port from a request URL, keeping the rest", () => {
    expect(normalizeRequestUrl(new URL("https://WWW.example.com.:443/a?b=1")).href).toBe("https://www.example.com/a?b=1");
    expect(normalizeRequestUrl(new URL("http://example.com.:8080/")).href).toBe("http://example.com:8080/");
  });

  it("returns the same URL object when nothing changes (no copy on the hot path)", () => {
    const url = new URL("https://www.example.com/a");
    expect(normalizeRequestUrl(url)).toBe(url);
  });
});

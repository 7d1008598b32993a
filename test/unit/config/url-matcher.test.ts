import { describe, expect, it } from "vitest";
import { compileUrlMatcher } from "../../../src/config/url-matcher.ts";

// Every case is checked against URLPattern itself, so the fast paths can never disagree with it.
describe("compileUrlMatcher agrees with URLPattern", () => {
  const patterns: Array<[string, string]> = [
    ["*", "/*"],
    ["www.example.com", "/*"],
    ["WWW.Example.com", "/*"],
    ["*.example.com", "/*"],
    ["www.example.com", "/api/*"],
    ["*", "/assets/:file"],
    ["*", "/exact"],
    ["*", "/a*b/*"],
    ["api-*.example.com", "/v1/*"],
  ];
  const urls = [
    "https://www.example.com/",
    "https://www.example.com/api/users",
    "https://www.example.com/api",
    "https://www.example.com/apix",
    "https://cdn.example.com/assets/logo.svg",
    "https://example.com/exact",
    "https://example.com/exact/",
    "https://api-eu.example.com/v1/x",
    "https://www.example.com:8443/api/x",
    "https://a.example.org/a-b/c",
  ];
  for (const [hostname, pathname] of patterns) {
    it(`matches ${hostname}${pathname} like URLPattern`, () => {
      const matches = compileUrlMatcher(hostname, pathname);
      const pattern = new URLPattern({ hostname, pathname });
      for (const url of urls) expect([url, matches(new URL(url))]).toEqual([url, pattern.test(url)]);
    });
  }
});

import { describe, expect, it } from "vitest";
import { validateConfig } from "../../../src/config/validate-config.ts";
import { matchRoute } from "../../../src/pipeline/match-route.ts";

const config = (() => {
  const result = validateConfig({
    pools: [{ name: "p", origins: [{ name: "o", address: "https://origin.example.com" }] }],
    routes: [
      { name: "api", hosts: ["www.example.com"], path: "/api/*", default_pools: ["p"] },
      { name: "assets", hosts: ["*.example.com"], path: "/assets/:file", default_pools: ["p"] },
      { name: "site", hosts: ["www.example.com", "example.com"], path: "/*", default_pools: ["p"] },
    ],
  });
  if (!result.ok) throw new Error(result.problems.join("\n"));
  return result.config;
})();

describe("matchRoute", () => {
  it.each([
    ["https://www.example.com/api/users", "api"],
    ["https://www.example.com/api", "site"],
    ["https://cdn.example.com/assets/logo.svg", "assets"],
    ["https://www.example.com/assets/logo.svg", "assets"],
    ["https://example.com/", "site"],
    ["https://www.example.com:8443/", "site"],
    ["https://cdn.example.com/other", undefined],
    ["https://example.org/", undefined],
    ["https://wwwXexample.com/", undefined],
  ])("routes %s to %s", (url, expected) => {
    expect(matchRoute(config, new URL(url))?.name).toBe(expected);
  });
});

// Route tests beside the routes ([[vars.OUTPOST.tests]]): decided with the worker's own stage
// functions, reported as a table, failing `npm run check` with an expected/actual diff.
import "urlpattern-polyfill"; // Node has no URLPattern; workerd has it natively.
import { describe, expect, it } from "vitest";
import { formatRouteTestResults, runRouteTests } from "../../src/config/route-tests.ts";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { validateConfig } from "../../src/config/validate-config.ts";
import { check } from "./check-run.ts";

const SITE: OutpostConfigInput = {
  pools: [
    { name: "us-east", origins: [{ name: "iad-1", address: "https://iad.example.com" }] },
    { name: "apac", origins: [{ name: "nrt-1", address: "https://nrt.example.com" }, { name: "nrt-2", address: "https://nrt2.example.com" }], origin_steering: { policy: "off" } },
  ],
  routes: [
    { name: "api", hosts: ["www.example.com"], path: "/api/*", steering_policy: "geo", default_pools: ["us-east"], country_pools: { JP: ["apac", "us-east"] }, cache: { enabled: false } },
    { name: "site", hosts: ["www.example.com"], default_pools: ["us-east", "apac"], cache: { bypass_cookies: ["session"], key: { country: true } }, steering_policy: "geo", country_pools: { JP: ["apac"] } },
  ],
};

function results(tests: OutpostConfigInput["tests"]) {
  const validation = validateConfig({ ...SITE, tests });
  if (!validation.ok) throw new Error(validation.problems.join("\n"));
  return runRouteTests(validation.config);
}

describe("route tests", () => {
  it("decides route, pools in failover order, first origin, steering reason and cache like the worker", () => {
    const [api] = results([{ request: { url: "https://www.example.com/api/x", country: "JP" }, expect: { route: "api", pools: ["apac", "us-east"], origin: "nrt-1", reason: "country:JP", cache: "bypass" } }]);
    expect(api!.mismatches).toEqual([]);
    expect(api!.actual.cacheDetail).toBe("disabled");
  });

  it.each([
    [{ url: "https://www.example.com/", headers: { Cookie: "session=abc" } }, "cookie"],
    [{ url: "https://www.example.com/", method: "POST" }, "method"],
    [{ url: "https://www.example.com/live", headers: { Upgrade: "websocket" } }, "websocket"],
  ])("says why %o bypasses the cache (%s)", (request, detail) => {
    const [result] = results([{ request, expect: { cache: "bypass" } }]);
    expect(result!.mismatches).toEqual([]);
    expect(result!.actual.cacheDetail).toBe(detail);
  });

  it("expects no route with route = false", () => {
    const [result] = results([{ request: { url: "https://other.example.org/" }, expect: { route: false } }]);
    expect(result!.mismatches).toEqual([]);
  });

  it("lists every field that differs, and only the fields the test names", () => {
    const [result] = results([{ request: { url: "https://www.example.com/api/x", country: "DE" }, expect: { route: "api", pools: ["apac", "us-east"], cache: "cache" } }]);
    expect(result!.mismatches).toEqual([
      { field: "pools", expected: ["apac", "us-east"], actual: ["us-east"] },
      { field: "cache", expected: "cache", actual: "bypass" },
    ]);
    const lines = formatRouteTestResults([result!]);
    expect(lines[1]).toMatch(/^FAIL\s+tests\[0\]\s+https:\/\/www\.example\.com\/api\/x \[DE\]\s+api\s+us-east\s+bypass \(disabled\)$/);
    expect(lines.slice(3)).toEqual([
      "tests[0] https://www.example.com/api/x [DE]:",
      "  expect.pools",
      "    - expected: apac > us-east",
      "    + actual:   us-east",
      "  expect.cache",
      "    - expected: cache",
      "    + actual:   bypass",
    ]);
  });

  it("rejects a test with an unknown expectation, with its path", () => {
    const validation = validateConfig({ ...SITE, tests: [{ request: { url: "https://www.example.com/" }, expect: { pool: "apac" } }] });
    expect(validation.ok).toBe(false);
    expect(!validation.ok && validation.problems.join("\n")).toContain("tests[0].expect");
  });
});

const HEADER = `name = "t"\nmain = "src/index.ts"\ncompatibility_date = "2026-10-20"\nkv_namespaces = [{ binding = "OUTPOST_CACHE", id = "x" }]\n`;
const TOML = `${HEADER}
[[vars.OUTPOST.pools]]
name = "us-east"
origins = [{ name = "iad-1", address = "https://iad.example.com" }]

[[vars.OUTPOST.pools]]
name = "apac"
origins = [{ name = "nrt-1", address = "https://nrt.example.com" }]

[[vars.OUTPOST.routes]]
name = "api"
path = "/api/*"
steering_policy = "geo"
default_pools = ["us-east", "apac"]
country_pools = { JP = ["apac", "us-east"] }
cache = { enabled = false }

[[vars.OUTPOST.tests]]
request = { url = "https://www.example.com/api/x", country = "JP" }
expect  = { route = "api", pools = ["apac", "us-east"], cache = "bypass" }
`;

describe("npm run check with route tests", { timeout: 30_000 }, () => {
  it("prints a table and exits 0 when every test passes", async () => {
    const { code, output } = await check(TOML);
    expect(output).toContain("route tests: 1 passed, 0 failed");
    expect(output).toMatch(/pass\s+tests\[0\]\s+https:\/\/www\.example\.com\/api\/x \[JP\]\s+api\s+apac > us-east\s+bypass \(disabled\)/);
    expect(code).toBe(0);
  });

  it("fails with a readable diff when a country map sends visitors elsewhere", async () => {
    const { code, output } = await check(TOML.replace('country_pools = { JP = ["apac", "us-east"] }', 'country_pools = { KR = ["apac", "us-east"] }'));
    expect(output).toContain("route tests: 0 passed, 1 failed");
    expect(output).toContain("expect.pools");
    expect(output).toContain("- expected: apac > us-east");
    expect(output).toContain("+ actual:   us-east > apac");
    expect(output).toContain("1 problem(s) found.");
    expect(code).toBe(1);
  });
});

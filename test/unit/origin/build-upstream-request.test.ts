import { describe, expect, it } from "vitest";
import { buildProbeRequest, buildUpstreamHeaders, buildUpstreamRequest, buildUpstreamUrl } from "../../../src/origin/build-upstream-request.ts";

const origin = { name: "a", address: "https://origin.example.com", weight: 1, enabled: true };

describe("buildUpstreamUrl", () => {
  it.each([
    ["https://origin.example.com", "https://www.example.com/a/b?x=1", "https://origin.example.com/a/b?x=1"],
    ["https://origin.example.com/base/", "https://www.example.com/a?x=1", "https://origin.example.com/base/a?x=1"],
    ["http://127.0.0.1:9000", "https://www.example.com/", "http://127.0.0.1:9000/"],
    ["https://origin.example.com", "https://www.example.com//double//slash", "https://origin.example.com//double//slash"],
  ])("joins %s with %s", (address, requestUrl, expected) => {
    expect(buildUpstreamUrl(address, new URL(requestUrl))).toBe(expected);
  });
});

describe("buildUpstreamHeaders", () => {
  it("sends the origin's Host override when the pool sets one", () => {
    const headers = buildUpstreamHeaders(new Request("https://www.example.com/"), { ...origin, header: { Host: ["www.example.com"] } });
    expect(headers.get("host")).toBe("www.example.com");
  });

  it("drops the client's Host so the origin's own host is sent", () => {
    const headers = buildUpstreamHeaders(new Request("https://www.example.com/", { headers: { host: "evil.example" } }), origin);
    expect(headers.get("host")).toBeNull();
  });

  it("does not invent an X-Forwarded-For without a client address", () => {
    expect(buildUpstreamHeaders(new Request("https://www.example.com/"), origin).get("x-forwarded-for")).toBeNull();
  });
});

describe("buildUpstreamRequest", () => {
  it("never follows redirects itself", () => {
    const request = buildUpstreamRequest(new Request("https://www.example.com/"), origin, null, new AbortController().signal);
    expect(request.redirect).toBe("manual");
  });
});

// Without cache: "no-store" a Worker's subrequest goes through the zone's own cache, a tier Outpost
// cannot key or purge (Workers changelog 2024-11-11).
describe("every upstream request bypasses the zone's cache", () => {
  const signal = new AbortController().signal;

  it.each(["GET", "HEAD", "PUT", "DELETE"])("a %s to an origin says cache: no-store", (method) => {
    const body = method === "PUT" ? new ArrayBuffer(3) : null;
    expect(buildUpstreamRequest(new Request("https://www.example.com/a", { method }), origin, body, signal).cache).toBe("no-store");
  });

  it("a conditional revalidation says cache: no-store", () => {
    const request = new Request("https://www.example.com/a", { headers: { "if-none-match": '"v1"' } });
    expect(buildUpstreamRequest(request, origin, null, signal).cache).toBe("no-store");
  });

  it("a health probe says cache: no-store, with the monitor's method and path and the Host override", () => {
    const monitor = { name: "hc", method: "HEAD" as const, path: "/healthz", expected_codes: "2xx", interval_seconds: 60, timeout_ms: 5_000, retries: 1 };
    const probe = buildProbeRequest({ ...origin, header: { Host: ["www.example.com"] } }, monitor, signal);
    expect(probe.cache).toBe("no-store");
    expect([probe.method, probe.url, probe.redirect, probe.headers.get("host")]).toEqual(["HEAD", "https://origin.example.com/healthz", "manual", "www.example.com"]);
  });
});

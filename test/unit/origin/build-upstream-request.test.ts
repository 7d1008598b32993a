import { describe, expect, it } from "vitest";
import { buildUpstreamHeaders, buildUpstreamRequest, buildUpstreamUrl } from "../../../src/origin/build-upstream-request.ts";

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

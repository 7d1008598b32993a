// Properties of the upstream request (SSRF): whatever the client's target, the request goes to the
// configured origin, under its base path, and the client cannot choose the Host or forwarding fields.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { OriginConfig } from "../../../src/config/schema.ts";
import { buildUpstreamHeaders, buildUpstreamUrl } from "../../../src/origin/build-upstream-request.ts";

const RUNS = { seed: 3986, numRuns: 500 };

const originAddress = fc
  .tuple(
    fc.constantFrom("http", "https"),
    fc.oneof(fc.domain(), fc.constantFrom("127.0.0.1", "10.0.0.5", "[2001:db8::1]")),
    fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
    fc.constantFrom("", "/", "/app", "/app/", "/a/b", "/v1%2Fx"),
  )
  .map(([scheme, host, port, base]) => `${scheme}://${host}${port === undefined ? "" : `:${port}`}${base}`);

const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,8}$/),
  fc.constantFrom(".", "..", "%2e", "%2E%2E", ".%2e", "..%2F", "%2F", "%5C", "\\", "@evil.example", "evil.example:80", "", "http:", "%00"),
);
const requestUrl = fc
  .tuple(fc.constantFrom("https://www.example.com", "http://evil.example", "http://169.254.169.254", "https://user:pw@www.example.com"), fc.array(segment, { maxLength: 6 }), fc.stringMatching(/^(\?[A-Za-z0-9=&%@:/.?+-]{0,12})?$/))
  .map(([base, segments, query]) => new URL(`${base}/${segments.join("/")}${query}`));

describe("buildUpstreamUrl", () => {
  it("always targets the configured origin, inside its base path, with the client's query", () => {
    fc.assert(
      fc.property(originAddress, requestUrl, (address, url) => {
        const configured = new URL(address);
        const upstream = new URL(buildUpstreamUrl(address, url));
        expect(upstream.protocol).toBe(configured.protocol);
        expect(upstream.host).toBe(configured.host);
        expect(upstream.username + upstream.password).toBe("");
        const basePath = configured.pathname.replace(/\/+$/, "");
        expect(upstream.pathname.startsWith(`${basePath}/`)).toBe(true);
        expect(upstream.pathname).toBe(basePath + url.pathname);
        expect(upstream.search).toBe(url.search);
      }),
      RUNS,
    );
  });
});

describe("buildUpstreamHeaders", () => {
  const origin = (address: string, hostOverride?: string): OriginConfig => ({
    name: "a",
    address,
    weight: 1,
    enabled: true,
    ...(hostOverride ? { header: { Host: [hostOverride] } } : {}),
  });
  const clientHeaders = fc.dictionary(
    fc.constantFrom("host", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-for", "via", "connection", "upgrade", "te", "proxy-authorization", "x-other"),
    fc.stringMatching(/^[A-Za-z0-9.:, =/-]{0,20}$/),
  );

  it("sends the configured Host (or none), and X-Forwarded-Host/Proto from the request URL, never from the client", () => {
    fc.assert(
      fc.property(requestUrl, clientHeaders, fc.option(fc.domain(), { nil: undefined }), (url, headers, hostOverride) => {
        const request = new Request(url, { headers });
        const upstream = buildUpstreamHeaders(request, origin("https://origin.example.com", hostOverride), url);
        expect(upstream.get("host")).toBe(hostOverride ?? null);
        expect(upstream.get("x-forwarded-host")).toBe(url.host);
        expect(upstream.get("x-forwarded-proto")).toBe(url.protocol.slice(0, -1));
        for (const name of ["connection", "upgrade", "te", "proxy-authorization"]) expect(upstream.has(name)).toBe(false);
        expect(upstream.get("via")?.endsWith("outpost")).toBe(true);
      }),
      RUNS,
    );
  });
});

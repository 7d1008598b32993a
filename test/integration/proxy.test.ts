import { describe, expect, it } from "vitest";
import { createOrigin, type EchoBody } from "../helpers/origins.ts";
import { callWorker, siteConfig, testEnv } from "../helpers/worker.ts";

async function singleOriginSite(name = "a") {
  const origin = await createOrigin(name);
  const env = testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name, address: origin.url }] }]) });
  return { origin, env };
}

describe("reverse proxy", () => {
  it("forwards the path and query to the configured origin and streams back its answer", async () => {
    const { origin, env } = await singleOriginSite();
    const response = await callWorker(new Request("https://www.example.com/a/b?x=1&y=2"), env);
    expect(response.status).toBe(200);
    const echo = (await response.json()) as EchoBody;
    expect(echo.url).toBe("/a/b?x=1&y=2");
    expect(echo.method).toBe("GET");
    expect(await origin.hits()).toBe(1);
  });

  it("names the route, pool and origin that served the request", async () => {
    const { env } = await singleOriginSite("origin-a");
    const response = await callWorker(new Request("https://www.example.com/"), env);
    expect(response.headers.get("outpost-upstream")).toBe('route="site", pool="main", origin="origin-a", steering="off", reason="default", attempts=1');
  });

  it.each(["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])("passes %s through", async (method) => {
    const { origin, env } = await singleOriginSite();
    const hasBody = method !== "HEAD" && method !== "OPTIONS" && method !== "DELETE";
    const response = await callWorker(
      new Request("https://www.example.com/things/1", { method, body: hasBody ? "x".repeat(1000) : undefined }),
      env,
    );
    expect(response.status).toBe(200);
    const [seen] = await origin.requests();
    expect(seen?.method).toBe(method);
    expect(seen?.bodyBytes).toBe(hasBody ? 1000 : 0);
  });

  it("sets X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and Via", async () => {
    const { origin, env } = await singleOriginSite();
    await callWorker(
      new Request("https://shop.example.com/", {
        headers: { "cf-connecting-ip": "203.0.113.7", "x-forwarded-for": "198.51.100.1", via: "1.1 corp-proxy" },
      }),
      env,
    );
    const [seen] = await origin.requests();
    expect(seen?.headers["x-forwarded-for"]).toBe("198.51.100.1, 203.0.113.7");
    expect(seen?.headers["x-forwarded-proto"]).toBe("https");
    expect(seen?.headers["x-forwarded-host"]).toBe("shop.example.com");
    expect(seen?.headers.via).toBe("1.1 corp-proxy, 1.1 outpost");
  });

  it("sends the origin's own host by default", async () => {
    // A Host override (pool origin `header.Host`) is set on the upstream request (see the unit test of
    // buildUpstreamHeaders), but workerd always sends the URL's host, so it cannot be observed here.
    const { origin, env } = await singleOriginSite();
    await callWorker(new Request("https://visitor.example.net/x"), env);
    expect((await origin.requests())[0]?.headers.host).toBe(new URL(origin.url).host);
  });

  it("strips hop-by-hop headers in both directions, including those named in Connection", async () => {
    const origin = await createOrigin("a", {
      kind: "fixed",
      status: 200,
      headers: { connection: "x-origin-hop", "x-origin-hop": "1", "keep-alive": "timeout=5", "x-kept": "yes" },
      body: "ok",
    });
    const env = testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "a", address: origin.url }] }]) });
    const response = await callWorker(
      new Request("https://www.example.com/", {
        headers: { connection: "x-client-hop", "x-client-hop": "1", "proxy-authorization": "Basic Zm9vOmJhcg==", "x-client-kept": "yes" },
      }),
      env,
    );
    const [seen] = await origin.requests();
    expect(seen?.headers["x-client-hop"]).toBeUndefined();
    expect(seen?.headers["proxy-authorization"]).toBeUndefined();
    expect(seen?.headers["x-client-kept"]).toBe("yes");
    expect(response.headers.get("x-origin-hop")).toBeNull();
    expect(response.headers.get("keep-alive")).toBeNull();
    expect(response.headers.get("x-kept")).toBe("yes");
    expect(response.headers.get("via")).toBe("1.1 outpost");
    expect(await response.text()).toBe("ok");
  });

  it("returns redirects to the client instead of following them", async () => {
    const origin = await createOrigin("a", { kind: "fixed", status: 302, headers: { location: "/elsewhere" } });
    const env = testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "a", address: origin.url }] }]) });
    const response = await callWorker(new Request("https://www.example.com/old"), env);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/elsewhere");
    expect(await origin.hits()).toBe(1);
  });

  it("streams a response body before the origin has finished sending it", async () => {
    const origin = await createOrigin("a", { kind: "held-stream", firstChunk: "first-part;", rest: "rest" });
    const env = testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "a", address: origin.url }] }]) });
    const response = await callWorker(new Request("https://www.example.com/big"), env);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first-part;");
    await origin.release();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe("rest");
  });
});

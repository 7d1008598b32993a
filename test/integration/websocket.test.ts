// WebSocket upgrades pass through to the steered origin: real WebSocket echo servers behind the
// worker, messages exchanged through it, failover on connect only, nothing cached.
import { describe, expect, it } from "vitest";
import { createOrigin, type TestOrigin } from "../helpers/origins.ts";
import { createTestWorker, testEnv } from "../helpers/worker.ts";

async function geoSite(eu: TestOrigin, apac: TestOrigin, route: Record<string, unknown> = {}) {
  return createTestWorker(
    testEnv({
      OUTPOST: {
        pools: [
          { name: "eu", origins: [{ name: "fra", address: eu.url }] },
          { name: "apac", origins: [{ name: "nrt", address: apac.url }] },
        ],
        routes: [{ name: "live", path: "/live/*", steering_policy: "geo", default_pools: ["eu", "apac"], country_pools: { JP: ["apac", "eu"] }, ...route }],
      },
    }),
  );
}

const upgrade = (path: string, cf: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  new Request(`https://www.example.com${path}`, { headers: { upgrade: "websocket", ...headers }, cf });

/** Accepts the client end and sends `messages` one by one, each after the previous answer. */
async function exchange(socket: WebSocket, messages: string[]): Promise<string[]> {
  socket.accept();
  const answers: string[] = [];
  for (const message of messages) {
    const answer = new Promise<string>((resolve) => socket.addEventListener("message", (event) => resolve(String(event.data)), { once: true }));
    socket.send(message);
    answers.push(await answer);
  }
  socket.close(1000, "done");
  return answers;
}

describe("WebSocket upgrades", () => {
  it("connects through the worker and exchanges messages with the origin", async () => {
    const eu = await createOrigin("ws-eu", { kind: "websocket-echo" });
    const apac = await createOrigin("ws-apac", { kind: "websocket-echo" });
    const worker = await geoSite(eu, apac);
    const response = await worker.fetch(upgrade("/live/feed?room=1", { country: "DE" }));
    expect(response.status).toBe(101);
    expect(response.webSocket).not.toBeNull();
    expect(response.headers.get("cache-status")).toBe("Outpost; fwd=bypass; detail=websocket");
    expect(response.headers.get("via")).toBe("1.1 outpost");
    expect(response.headers.get("outpost-upstream")).toBe('route="live", pool="eu", origin="fra", steering="geo", reason="default", attempts=1');
    expect(await exchange(response.webSocket!, ["hello", "again"])).toEqual(["ws-eu: hello", "ws-eu: again"]);
    const [seen] = await eu.requests();
    expect(seen!.url).toBe("/live/feed?room=1");
    expect(seen!.headers.upgrade).toBe("websocket");
    expect(await apac.hits()).toBe(0);
  });

  it("steers by geography like any request", async () => {
    const eu = await createOrigin("ws-eu", { kind: "websocket-echo" });
    const apac = await createOrigin("ws-apac", { kind: "websocket-echo" });
    const worker = await geoSite(eu, apac);
    const response = await worker.fetch(upgrade("/live/feed", { country: "JP" }));
    expect(response.headers.get("outpost-upstream")).toContain('pool="apac", origin="nrt", steering="geo", reason="country:JP"');
    expect(await exchange(response.webSocket!, ["konnichiwa"])).toEqual(["ws-apac: konnichiwa"]);
    expect(await eu.hits()).toBe(0);
  });

  it("fails over to the next pool when the preferred origin refuses the connection", async () => {
    const eu = await createOrigin("ws-eu", { kind: "websocket-echo" });
    const apac = await createOrigin("ws-apac", { kind: "websocket-echo" });
    await eu.stop();
    const worker = await geoSite(eu, apac);
    const response = await worker.fetch(upgrade("/live/feed", { country: "DE" }));
    expect(response.status).toBe(101);
    expect(response.headers.get("outpost-upstream")).toContain('pool="apac", origin="nrt", steering="geo", reason="default", attempts=2');
    expect(await exchange(response.webSocket!, ["hi"])).toEqual(["ws-apac: hi"]);
  });

  it("fails over when the preferred origin answers the upgrade with one of retry_on_statuses", async () => {
    const eu = await createOrigin("ws-eu", { kind: "fixed", status: 503, body: "draining" });
    const apac = await createOrigin("ws-apac", { kind: "websocket-echo" });
    const worker = await geoSite(eu, apac);
    const response = await worker.fetch(upgrade("/live/feed", { country: "DE" }));
    expect(response.status).toBe(101);
    expect(response.headers.get("outpost-upstream")).toContain('pool="apac", origin="nrt", steering="geo", reason="default", attempts=2');
    expect(await exchange(response.webSocket!, ["hi"])).toEqual(["ws-apac: hi"]);
    expect(await eu.hits()).toBe(1);
  });

  it("answers 502 naming each attempt when no origin accepts the connection", async () => {
    const eu = await createOrigin("ws-eu", { kind: "websocket-echo" });
    const apac = await createOrigin("ws-apac", { kind: "websocket-echo" });
    await eu.stop();
    await apac.stop();
    const worker = await geoSite(eu, apac);
    const response = await worker.fetch(upgrade("/live/feed"));
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { details: { attempts: Array<{ pool: string }> } } };
    expect(JSON.stringify(body)).toContain('"pool":"eu"');
    expect(JSON.stringify(body)).toContain('"pool":"apac"');
  });

  it("delivers an origin's refusal of the upgrade as it is, without failing over", async () => {
    const eu = await createOrigin("ws-eu", { kind: "fixed", status: 404, body: "no such feed" });
    const apac = await createOrigin("ws-apac", { kind: "websocket-echo" });
    const worker = await geoSite(eu, apac);
    const response = await worker.fetch(upgrade("/live/feed"));
    expect(response.status).toBe(404);
    expect(response.webSocket).toBeNull();
    expect(await response.text()).toBe("no such feed");
    expect(await apac.hits()).toBe(0);
  });

  it("is never cached: every upgrade reaches the origin, even on a caching route", async () => {
    const eu = await createOrigin("ws-eu", { kind: "websocket-echo" });
    const apac = await createOrigin("ws-apac", { kind: "websocket-echo" });
    const worker = await geoSite(eu, apac, { cache: { edge_ttl_seconds: 3600 } });
    for (const message of ["one", "two"]) {
      const response = await worker.fetch(upgrade("/live/feed"));
      expect(response.status).toBe(101);
      expect(await exchange(response.webSocket!, [message])).toEqual([`ws-eu: ${message}`]);
    }
    expect(await eu.hits()).toBe(2);
  });

  it("passes the application's subprotocol through, both ways", async () => {
    const eu = await createOrigin("ws-eu", { kind: "websocket-echo", protocol: "chat.v2" });
    const apac = await createOrigin("ws-apac", { kind: "websocket-echo" });
    const worker = await geoSite(eu, apac);
    const response = await worker.fetch(upgrade("/live/feed", {}, { "sec-websocket-protocol": "chat.v1, chat.v2" }));
    expect(response.headers.get("sec-websocket-protocol")).toBe("chat.v2");
    expect((await eu.requests())[0]!.headers["sec-websocket-protocol"]).toBe("chat.v1, chat.v2");
    await exchange(response.webSocket!, ["x"]);
  });

  it("still strips Upgrade from a request that asks for another protocol", async () => {
    const eu = await createOrigin("plain-eu", { kind: "echo" });
    const apac = await createOrigin("plain-apac", { kind: "echo" });
    const worker = await geoSite(eu, apac);
    const response = await worker.fetch(upgrade("/live/feed", {}, { upgrade: "h2c" }));
    expect(response.status).toBe(200);
    expect((await eu.requests())[0]!.headers.upgrade).toBeUndefined();
  });
});

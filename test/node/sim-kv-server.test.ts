// The KV shim's loopback protocol (sim/kv-server.mjs), as sim/location-worker.ts calls it: values
// and metadata travel both ways, absence is a header, and a broken rule answers KV's status and message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimKv } from "../../sim/kv-shim.mjs";
import { startKvServer } from "../../sim/kv-server.mjs";

let server: { url: string; close(): Promise<void> };
const kv = new SimKv({ propagationMs: 60_000 });

const call = (op: string, location: string, key: string | undefined, options: object = {}, body?: string) =>
  fetch(`${server.url}/kv/${op}`, { method: "POST", headers: { "x-sim-kv": JSON.stringify({ location, key, options }) }, body });

beforeAll(async () => {
  server = await startKvServer(kv);
});
afterAll(() => server.close());

describe("the KV shim's server", () => {
  it("stores a value with metadata and answers it at the writing location", async () => {
    expect((await call("put", "FRA", "k", { metadata: { bytes: 5 }, expirationTtl: 600 }, "hello")).status).toBe(200);
    const found = await call("get", "FRA", "k");
    expect(found.headers.get("x-sim-kv-found")).toBe("1");
    expect(JSON.parse(decodeURIComponent(found.headers.get("x-sim-kv-metadata")!))).toEqual({ bytes: 5 });
    expect(await found.text()).toBe("hello");
  });

  it("answers absence at a location the write has not reached", async () => {
    const missing = await call("get", "SYD", "k", { cacheTtl: 30 });
    expect(missing.headers.get("x-sim-kv-found")).toBe("0");
    expect(await missing.text()).toBe("");
  });

  it("answers a broken rule with KV's status and message", async () => {
    const limited = await call("put", "IAD", "k", {}, "again");
    expect(limited.status).toBe(429);
    expect(await limited.text()).toContain("429 Too Many Requests");
    const short = await call("put", "IAD", "other", { expirationTtl: 10 }, "x");
    expect(short.status).toBe(400);
  });

  it("lists keys as JSON", async () => {
    const listed = await (await call("list", "FRA", undefined, { prefix: "k" })).json();
    expect(listed.keys.map((key: { name: string }) => key.name)).toEqual(["k"]);
  });
});

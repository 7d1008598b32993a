// The simulator's origin-shield transport (sim/shield-transport.ts): a stub from the stand-in namespace
// carries the request (method, headers, body, original URL), the object's name and the location hint to
// the coordinator worker's side, which hands it to the named object's stub without the transport's
// headers and brings the object's response back; an object that throws makes the stub reject, as a real
// stub does; faults answer 500, reject or hang until cleared, and every call is counted per location.
// Then the same through workerd with a stand-in object (streaming, redirects, a throwing object), and
// with the real OriginShield in the coordinator instance (an isolate per pool, KV through the shim):
// concurrent calls from several locations reach the origin once.
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleFile, bundleWorker, startWorker } from "../../scripts/worker-bundle.mjs";
import { SHIELD_OUTCOME_HEADER, SHIELD_POOLS_HEADER } from "../../src/coordination/shield-protocol.ts";
import { startCoordinatorInstance } from "../../sim/coordinator-instance.mjs";
import { startKvServer } from "../../sim/kv-server.mjs";
import { SimKv } from "../../sim/kv-shim.mjs";
import { answerShieldCall, emptyShieldCounts, noFaults, readFaults, remoteShieldNamespace, type ShieldCallCounts, type SimFaults } from "../../sim/shield-transport.ts";

interface Seen {
  name: string;
  hint?: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A namespace whose objects answer from `answer` and note every request they get. */
function fakeNamespace(answer: (request: Request) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const namespace = {
    idFromName: (name: string) => ({ name }),
    get: (id: { name: string }, options?: { locationHint?: string }) => ({
      async fetch(request: Request) {
        seen.push({ name: id.name, hint: options?.locationHint, method: request.method, url: request.url, headers: Object.fromEntries(request.headers), body: await request.text() });
        return answer(request);
      },
    }),
  };
  return { namespace: namespace as unknown as DurableObjectNamespace, seen };
}

/** The location side wired straight to the worker side: every call is a real Request and Response. */
function wired(namespace: DurableObjectNamespace, counts: ShieldCallCounts, faults: () => SimFaults = noFaults, location = "FRA") {
  const transportUrls: string[] = [];
  const remote = remoteShieldNamespace({ url: "http://coordinator.test", location }, async (url, init) => {
    transportUrls.push(`${init.method} ${url}`);
    return answerShieldCall(new Request(url, init), namespace, counts, faults);
  });
  return { remote, transportUrls };
}

describe("the origin-shield transport shim", () => {
  it("carries method, headers, body, the original URL, the name and the hint; answers the object's response", async () => {
    const { namespace, seen } = fakeNamespace(() => new Response("from the shield", { status: 200, headers: { "x-shield": "hit" } }));
    const counts = emptyShieldCounts();
    const { remote, transportUrls } = wired(namespace, counts);
    const stub = remote.get(remote.idFromName("eu/2"), { locationHint: "weur" });
    const response = await stub.fetch(new Request("https://site.example/c/page/1?x=1", { headers: { accept: "text/html", "if-none-match": '"a"' } }));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-shield")).toBe("hit");
    expect(await response.text()).toBe("from the shield");
    const post = await remote.get(remote.idFromName("us/0")).fetch(new Request("https://site.example/form", { method: "POST", body: "a=1" }));
    expect(post.status).toBe(200);
    expect(seen.map(({ name, hint, method, url, body }) => ({ name, hint, method, url, body }))).toEqual([
      { name: "eu/2", hint: "weur", method: "GET", url: "https://site.example/c/page/1?x=1", body: "" },
      { name: "us/0", hint: undefined, method: "POST", url: "https://site.example/form", body: "a=1" },
    ]);
    expect(seen[0].headers).toMatchObject({ accept: "text/html", "if-none-match": '"a"' });
    expect(Object.keys(seen[0].headers).filter((name) => name.startsWith("x-sim-shield"))).toEqual([]);
    expect(transportUrls).toEqual(["GET http://coordinator.test/shield/eu%2F2", "POST http://coordinator.test/shield/us%2F0"]);
    expect(counts).toMatchObject({ calls: 2, byColo: { FRA: 2 }, byObject: { "eu/2": 1, "us/0": 1 }, failed: 0 });
  });

  it("hands back a redirect and an error status as the object answered them", async () => {
    const { namespace } = fakeNamespace((request) => (request.url.endsWith("/moved") ? new Response(null, { status: 301, headers: { location: "/new" } }) : new Response("origin down", { status: 503 })));
    const { remote } = wired(namespace, emptyShieldCounts());
    const stub = remote.get(remote.idFromName("eu/0"));
    const moved = await stub.fetch(new Request("https://site.example/moved"));
    expect([moved.status, moved.headers.get("location")]).toEqual([301, "/new"]);
    expect((await stub.fetch(new Request("https://site.example/x"))).status).toBe(503);
  });

  it("rejects when the object throws, as a real stub does, and counts the failure", async () => {
    const { namespace } = fakeNamespace(() => {
      throw new Error("object overloaded");
    });
    const counts = emptyShieldCounts();
    const { remote } = wired(namespace, counts);
    await expect(remote.get(remote.idFromName("eu/0")).fetch(new Request("https://site.example/a"))).rejects.toThrow("object overloaded");
    expect(counts.failed).toBe(1);
  });

  it("faults: error answers 500, throw rejects, hang holds the call until the fault is cleared; none reach the object", async () => {
    const { namespace, seen } = fakeNamespace(() => new Response("ok"));
    const counts = emptyShieldCounts();
    let faults = readFaults({ shield: "error" }, Date.now()) as SimFaults;
    const { remote } = wired(namespace, counts, () => faults, "SYD");
    const stub = remote.get(remote.idFromName("apac/1"));
    expect((await stub.fetch(new Request("https://site.example/a"))).status).toBe(500);
    faults = readFaults({ shield: "throw" }, Date.now()) as SimFaults;
    await expect(stub.fetch(new Request("https://site.example/a"))).rejects.toThrow("simulated fault");
    faults = readFaults({ shield: "hang" }, Date.now()) as SimFaults;
    const startedAt = Date.now();
    const hung = stub.fetch(new Request("https://site.example/a"));
    setTimeout(() => (faults = noFaults()), 300);
    expect((await hung).status).toBe(504);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(250);
    expect(seen).toEqual([]);
    expect(counts).toMatchObject({ calls: 3, byColo: { SYD: 3 }, injected: { error: 1, throw: 1, hang: 1 } });
    // A fault with a duration ends by itself; the object answers again.
    faults = readFaults({ shield: "error", seconds: 0.05 }, Date.now() - 100) as SimFaults;
    expect(await (await stub.fetch(new Request("https://site.example/a"))).text()).toBe("ok");
  });

  it("refuses malformed faults and a call without the original URL", async () => {
    expect(readFaults({ shield: "sometimes" }, 0)).toBeUndefined();
    expect(readFaults({ shield: "error", seconds: -1 }, 0)).toBeUndefined();
    expect(readFaults({}, 0)).toEqual(noFaults());
    expect(readFaults({ coordinator: true, seconds: 2 }, 1000)).toEqual({ shield: "none", coordinator: true, until: 3000 });
    const { namespace, seen } = fakeNamespace(() => new Response("ok"));
    expect((await answerShieldCall(new Request("http://coordinator.test/shield/eu%2F0"), namespace, emptyShieldCounts(), noFaults)).status).toBe(400);
    expect(seen).toEqual([]);
  });
});

describe("the transport in workerd (a stand-in object behind it)", () => {
  let worker: { mf: { dispose(): Promise<void> }; url: string } | undefined;
  let base = "";

  beforeAll(async () => {
    const script = await bundleFile(join(dirname(fileURLToPath(import.meta.url)), "fixtures/sim-shield-echo-worker.ts"));
    // The worker calls itself: its location side reaches its own /shield/ entry over loopback HTTP.
    const port = await freePort();
    worker = await startWorker("sim-shield-echo", script, { ECHO: { type: "durable-object", worker: "sim-shield-echo", exportName: "EchoObject" }, SHIELD_URL: { type: "text", value: `http://127.0.0.1:${port}` } }, { port, workerConfig: { exports: { EchoObject: { type: "durable-object", storage: "sqlite" } } } });
    base = worker.url;
  }, 60_000);
  afterAll(() => worker?.mf.dispose());

  it("carries a request with a body to the object and streams its answer back; redirects come back as answered; a throwing object rejects", async () => {
    const echoed = await fetch(`${base}/via-shield/eu%2F1?url=${encodeURIComponent("https://site.example/c/page/1?q=2")}`, { method: "POST", headers: { "x-client": "yes" }, body: "payload" });
    const seen = (await echoed.json()) as { method: string; url: string; headers: Record<string, string>; body: string };
    expect(seen).toMatchObject({ method: "POST", url: "https://site.example/c/page/1?q=2", body: "payload" });
    expect(seen.headers["x-client"]).toBe("yes");
    expect(Object.keys(seen.headers).filter((name) => name.startsWith("x-sim-shield"))).toEqual([]);
    const streamed = await fetch(`${base}/via-shield/eu%2F1?url=${encodeURIComponent("https://site.example/stream")}`);
    expect(await streamed.text()).toBe("chunk0;chunk1;chunk2;chunk3;chunk4;");
    const redirected = await fetch(`${base}/via-shield/eu%2F1?url=${encodeURIComponent("https://site.example/redirect")}`, { redirect: "manual" });
    expect([redirected.status, redirected.headers.get("location")]).toEqual([302, "/elsewhere"]);
    const thrown = await fetch(`${base}/via-shield/eu%2F1?url=${encodeURIComponent("https://site.example/throw")}`);
    expect([thrown.status, await thrown.text()]).toEqual([599, expect.stringContaining("rejected: ")]);
    const counts = (await (await fetch(`${base}/stats`)).json()) as ShieldCallCounts;
    expect(counts).toMatchObject({ calls: 4, byColo: { FRA: 4 }, byObject: { "eu/1": 4 }, failed: 1 });
  }, 30_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe("the real OriginShield behind the transport (sim/coordinator-worker.ts, an isolate per pool)", () => {
  let coordinator: { mf: { dispose(): Promise<void> }; url: string } | undefined;
  let kvServer: { url: string; close(): Promise<unknown> } | undefined;
  const originRequests: string[] = [];
  const origin = createHttpServer((request, response) => {
    originRequests.push(request.url ?? "");
    setTimeout(() => response.writeHead(200, { "content-type": "text/plain", "cache-control": "public, max-age=600" }).end(`body of ${request.url}`), 30);
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    const address = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    kvServer = await startKvServer(new SimKv({ propagationMs: 60_000, scale: 1 }));
    const config = {
      pools: [{ name: "eu", origins: [{ name: "eu-1", address }], shield: {} }],
      routes: [{ name: "site", hosts: ["site.example"], path: "/*", default_pools: ["eu"] }],
      observability: { request_log_sample_rate: 0 },
    };
    coordinator = await startCoordinatorInstance({
      script: bundleWorker("sim-coordinator-shield-test", { entry: "sim/coordinator-worker.ts" }),
      shieldPools: ["eu"],
      shieldEnv: { OUTPOST: { type: "json", value: config }, SIM_KV: { type: "json", value: { url: kvServer.url, location: "SHIELD" } } },
      handleStructuredLogs: () => {},
    });
  }, 120_000);
  afterAll(async () => {
    await coordinator?.mf.dispose();
    await kvServer?.close();
    await new Promise((resolve) => origin.close(resolve));
  });

  it("collapses concurrent calls from several locations into one origin request, answers later calls from its copy, and counts the calls", async () => {
    const call = (location: string) => {
      const remote = remoteShieldNamespace({ url: coordinator!.url, location });
      return remote.get(remote.idFromName("eu/0")).fetch(new Request("https://site.example/c/asset/1", { headers: { [SHIELD_POOLS_HEADER]: "eu" } }));
    };
    const answers = await Promise.all(["FRA", "IAD", "SYD", "FRA", "IAD", "SYD"].map(call));
    expect(await Promise.all(answers.map((answer) => answer.text()))).toEqual(new Array(6).fill("body of /c/asset/1"));
    expect(answers.map((answer) => answer.headers.get(SHIELD_OUTCOME_HEADER)).sort()).toEqual(["collapsed", "collapsed", "collapsed", "collapsed", "collapsed", "miss"]);
    const later = await call("SYD");
    expect([later.headers.get(SHIELD_OUTCOME_HEADER), await later.text()]).toEqual(["hit", "body of /c/asset/1"]);
    expect(originRequests).toEqual(["/c/asset/1"]);
    // A pool without a shield worker in this run: no object to answer.
    const remote = remoteShieldNamespace({ url: coordinator!.url, location: "FRA" });
    expect((await remote.get(remote.idFromName("us/0")).fetch(new Request("https://site.example/c/asset/1"))).status).toBe(404);
    const stats = (await (await fetch(`${coordinator!.url}/stats`)).json()) as { shield: ShieldCallCounts };
    expect(stats.shield).toMatchObject({ calls: 8, byColo: { FRA: 3, IAD: 2, SYD: 3 }, byObject: { "eu/0": 7, "us/0": 1 }, failed: 0 });
  }, 60_000);
});

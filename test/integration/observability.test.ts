// What every proxied response carries for operators: Server-Timing phases, a request id, one
// sampled JSON log line, and an Analytics Engine data point when the binding exists.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createOrigin } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

async function observedSite(options: { sampleRate?: number; serverTiming?: boolean; analytics?: AnalyticsEngineDataset; logSample?: () => number } = {}) {
  const origin = await createOrigin("origin", { kind: "echo", headers: { "cache-control": "max-age=60" } });
  const config = {
    ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }]),
    cache_version: crypto.randomUUID().slice(0, 8),
    observability: { request_log_sample_rate: options.sampleRate ?? 0, server_timing: options.serverTiming ?? true },
  };
  const worker = createTestWorker(testEnv({ OUTPOST: config, OUTPOST_ANALYTICS: options.analytics }), { logSample: options.logSample });
  return { origin, worker };
}

/** Request-log lines written through console.log during `work`. */
async function loggedRequests(work: () => Promise<void>): Promise<Array<Record<string, any>>> {
  const log = vi.spyOn(console, "log");
  await work();
  return log.mock.calls.map(([line]) => JSON.parse(String(line))).filter((entry) => entry.event === "request");
}

afterEach(() => vi.restoreAllMocks());

describe("response headers", () => {
  it("names the phases in Server-Timing: each tier looked up and what it had, the origin, the total", async () => {
    const { worker } = await observedSite();
    const miss = await worker.fetch(new Request("https://www.example.com/a"));
    await miss.text();
    expect(miss.headers.get("server-timing")).toBe('memory;dur=0;desc="miss", colo;dur=0;desc="miss", kv;dur=0;desc="miss", origin;dur=0;desc="main/origin", total;dur=0');
    const hot = await worker.fetch(new Request("https://www.example.com/a"));
    expect(hot.headers.get("server-timing")).toBe('memory;dur=0;desc="hit", total;dur=0');
    worker.clock.advance(10_000); // past the hot tier's lifetime
    const colo = await worker.fetch(new Request("https://www.example.com/a"));
    expect(colo.headers.get("server-timing")).toBe('memory;dur=0;desc="miss", colo;dur=0;desc="hit", total;dur=0');
  });

  it("leaves Server-Timing out when the configuration turns it off", async () => {
    const { worker } = await observedSite({ serverTiming: false });
    expect((await worker.fetch(new Request("https://www.example.com/a"))).headers.has("server-timing")).toBe(false);
  });

  it("uses Cloudflare's Ray ID as the request id, or makes one", async () => {
    const { worker } = await observedSite();
    const withRay = await worker.fetch(new Request("https://www.example.com/a", { headers: { "cf-ray": "8a1b2c3d4e5f-FRA" } }));
    expect(withRay.headers.get("outpost-request-id")).toBe("8a1b2c3d4e5f-FRA");
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push((await worker.fetch(new Request("https://www.example.com/a"))).headers.get("outpost-request-id"));
    expect(ids[0]).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/); // this isolate's random id, then a counter
    expect(ids[1]).not.toBe(ids[0]);
  });

  it("puts the request id on error answers too", async () => {
    const { origin, worker } = await observedSite();
    await origin.stop();
    const failed = await worker.fetch(new Request("https://www.example.com/down", { headers: { "cf-ray": "ray-1" } }));
    expect(failed.status).toBe(502);
    expect(failed.headers.get("outpost-request-id")).toBe("ray-1");
  });
});

describe("request log", () => {
  it("writes one JSON line per sampled request with route, pool, origin, cache status, timings, country and colo", async () => {
    const { worker } = await observedSite({ sampleRate: 1, logSample: () => 0.5 });
    const lines = await loggedRequests(async () => {
      await (await worker.fetch(new Request("https://www.example.com/p?secret=1", { cf: { country: "DE", colo: "FRA" } }))).text();
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      method: "GET",
      host: "www.example.com",
      path: "/p",
      status: 200,
      route: "site",
      pool: "main",
      origin: "origin",
      cache: "Outpost; fwd=miss; fwd-status=200; ttl=60; stored",
      country: "DE",
      colo: "FRA",
      ms: { total: 0, memory: 0, colo: 0, kv: 0, origin: 0 },
    });
    expect(JSON.stringify(lines[0])).not.toContain("secret"); // the query is not logged
  });

  it("logs only the sampled share of requests", async () => {
    const draws = [0.05, 0.5, 0.09, 0.95];
    const { worker } = await observedSite({ sampleRate: 0.1, logSample: () => draws.shift()! });
    const lines = await loggedRequests(async () => {
      for (let i = 0; i < 4; i++) await (await worker.fetch(new Request(`https://www.example.com/s${i}`))).text();
    });
    expect(lines.map((line) => line.path)).toEqual(["/s0", "/s2"]);
  });
});

describe("Analytics Engine", () => {
  it("writes one data point per request when the binding exists", async () => {
    // A recording stand-in for the binding: Analytics Engine has no local store to query.
    const points: AnalyticsEngineDataPoint[] = [];
    const analytics = { writeDataPoint: (point?: AnalyticsEngineDataPoint) => void points.push(point!) } as AnalyticsEngineDataset;
    const { worker } = await observedSite({ analytics });
    await (await worker.fetch(new Request("https://www.example.com/a", { cf: { country: "JP", colo: "NRT" } }))).text();
    await (await worker.fetch(new Request("https://www.example.com/a", { cf: { country: "JP", colo: "NRT" } }))).text();
    expect(points).toHaveLength(2);
    expect(points[0]).toEqual({ indexes: ["site"], blobs: ["site", "main", "origin", "miss", "JP", "NRT", "GET", "www.example.com"], doubles: [200, 0, 0] });
    expect(points[1]!.blobs![3]).toBe("hit");
  });

  it("keeps serving when the binding throws", async () => {
    const analytics = { writeDataPoint: () => { throw new Error("dataset unavailable"); } } as AnalyticsEngineDataset;
    const { worker } = await observedSite({ analytics });
    const response = await worker.fetch(new Request("https://www.example.com/a"));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-status")).toContain("stored");
  });
});

// Every request Outpost sends upstream bypasses the zone's own cache (cache: "no-store"): a fill, a
// revalidation in the foreground and in the background, a pass-through PUT, and a health probe. The
// fetch spy answers as a small origin would; per TOOLCHAIN.md the Response is built inside the mock.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HEALTH_SNAPSHOT_KEY } from "../../src/health/health-snapshot.ts";
import { createTestWorker, testEnv } from "../helpers/worker.ts";

const ORIGIN = "http://origin.outpost.test";
const kv = (env as unknown as { OUTPOST_CACHE: KVNamespace }).OUTPOST_CACHE;

interface Seen {
  method: string;
  path: string;
  cache: string | undefined;
  conditional: boolean;
  userAgent: string | null;
}

function spyOnUpstream(): Seen[] {
  const seen: Seen[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    seen.push({ method: request.method, path: url.pathname, cache: request.cache, conditional: request.headers.has("if-none-match"), userAgent: request.headers.get("user-agent") });
    if (url.pathname === "/healthz") return new Response("ok");
    if (request.method !== "GET") return new Response(null, { status: 204 });
    const headers = { "cache-control": "max-age=1, stale-while-revalidate=60", etag: '"v1"' };
    if (request.headers.get("if-none-match") === '"v1"') return new Response(null, { status: 304, headers });
    return new Response("page", { headers });
  });
  return seen;
}

afterEach(() => vi.restoreAllMocks());

describe("upstream requests", () => {
  it("carry cache: no-store on fills, revalidations, background refreshes, pass-through and health probes", async () => {
    await kv.delete(HEALTH_SNAPSHOT_KEY);
    const config = {
      cache_version: crypto.randomUUID().slice(0, 8),
      monitors: [{ name: "hc", path: "/healthz", interval_seconds: 60 }],
      pools: [{ name: "main", monitor: "hc", origins: [{ name: "origin", address: ORIGIN }] }],
      routes: [{ name: "site", default_pools: ["main"] }],
    };
    const worker = createTestWorker(testEnv({ OUTPOST: config }));
    const seen = spyOnUpstream();
    const page = () => new Request("https://www.example.com/page");

    expect((await worker.fetch(page())).status).toBe(200); // miss: a fill
    worker.clock.advance(2_000);
    expect((await worker.fetch(page())).status).toBe(200); // stale: refreshed in the background
    worker.clock.advance(120_000);
    expect((await worker.fetch(page())).status).toBe(200); // past stale-while-revalidate: revalidated now
    expect((await worker.fetch(new Request("https://www.example.com/doc", { method: "PUT", body: "x" }))).status).toBe(204);
    await worker.scheduled();

    expect(seen.map((request) => `${request.method} ${request.path}${request.conditional ? " conditional" : ""}`)).toEqual([
      "GET /page",
      "GET /page conditional",
      "GET /page conditional",
      "PUT /doc",
      "GET /healthz",
    ]);
    expect(seen.at(-1)?.userAgent).toBe("Outpost-Health-Check/1");
    expect(seen.map((request) => request.cache)).toEqual(Array(seen.length).fill("no-store"));
  });
});

// stale-if-error (RFC 5861 §4) through the worker: which origin answers count as errors, the
// request's own stale-if-error where the route honours request directives, and an error answer never
// replacing the entry stale-if-error needs (even on a route that stores that status).
import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type EchoBody, type OriginBehavior } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;

async function site(behavior: OriginBehavior, cache: CacheSettings = {}) {
  const origin = await createOrigin("origin", behavior);
  const config = {
    ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache }),
    cache_version: crypto.randomUUID().slice(0, 8),
  };
  return { origin, worker: createTestWorker(testEnv({ OUTPOST: config })) };
}

const get = (headers: Record<string, string> = {}) => new Request("https://www.example.com/page", { headers });
/** Stored for 60 s, with an ETag so it is kept (for revalidation) after its stale windows close. */
const good = (cacheControl = "max-age=60"): OriginBehavior => ({ kind: "echo", headers: { "cache-control": cacheControl, etag: '"v1"' } });
const failing = (status: number, cacheControl = "max-age=60"): OriginBehavior => ({ kind: "fixed", status, headers: { "cache-control": cacheControl }, body: `error ${status}` });
const cacheStatus = (response: Response) => response.headers.get("cache-status") ?? "";
const echoOf = async (response: Response) => (await response.json()) as EchoBody;

describe("which origin answers count as errors (RFC 5861 §4)", () => {
  it.each([500, 502, 503, 504])("serves the stale entry when the origin answers %i", async (status) => {
    const { origin, worker } = await site({ kind: "sequence", steps: [good(), failing(status)] });
    await (await worker.fetch(get())).text();
    worker.clock.advance(61_000);
    const rescued = await worker.fetch(get());
    expect(rescued.status).toBe(200);
    expect(cacheStatus(rescued)).toBe(`Outpost; fwd=stale; fwd-status=${status}; ttl=-1; detail=stale-if-error`);
    expect((await echoOf(rescued)).n).toBe(1);
    expect(await origin.hits()).toBe(2);
  });

  it.each([501, 505, 400, 403, 429])("passes the origin's %i on instead of the stale entry", async (status) => {
    const { origin, worker } = await site({ kind: "sequence", steps: [good(), failing(status)] });
    await (await worker.fetch(get())).text();
    worker.clock.advance(61_000);
    const answer = await worker.fetch(get());
    expect(answer.status).toBe(status);
    expect(await answer.text()).toBe(`error ${status}`);
    expect(cacheStatus(answer)).not.toContain("stale-if-error");
    expect(await origin.hits()).toBe(2);
  });
});

describe("the request's stale-if-error (RFC 5861 §4)", () => {
  // The route grants no stale-if-error of its own, so only the request's directive can rescue.
  const routeWithout = { stale_if_error_seconds: 0 };

  it("serves stale within the request's window when the route honours request directives", async () => {
    const { origin, worker } = await site({ kind: "sequence", steps: [good(), failing(503)] }, { ...routeWithout, request_cache_control: "honor" });
    await (await worker.fetch(get())).text();
    worker.clock.advance(60_000 + 29_999);
    const rescued = await worker.fetch(get({ "cache-control": "stale-if-error=30" }));
    expect(rescued.status).toBe(200);
    expect(cacheStatus(rescued)).toContain("detail=stale-if-error");
    expect((await echoOf(rescued)).n).toBe(1);

    expect((await worker.fetch(get())).status).toBe(503);
    worker.clock.advance(1);
    expect((await worker.fetch(get({ "cache-control": "stale-if-error=30" }))).status).toBe(503);
    expect(await origin.hits()).toBe(4);
  });

  it("ignores the request's stale-if-error when the route ignores request directives (the default)", async () => {
    const { worker } = await site({ kind: "sequence", steps: [good(), failing(503)] }, routeWithout);
    await (await worker.fetch(get())).text();
    worker.clock.advance(61_000);
    expect((await worker.fetch(get({ "cache-control": "stale-if-error=600" }))).status).toBe(503);
  });

  it("does not serve stale on the request's say-so when the stored response has must-revalidate (RFC 9111 §4.2.4)", async () => {
    const { worker } = await site({ kind: "sequence", steps: [good("max-age=60, must-revalidate"), failing(503)] }, { request_cache_control: "honor" });
    await (await worker.fetch(get())).text();
    worker.clock.advance(61_000);
    expect((await worker.fetch(get({ "cache-control": "stale-if-error=600" }))).status).toBe(503);
  });
});

describe("an error answer never replaces a stored entry", () => {
  it("keeps the entry when a route that stores 500s gets one from a refill", async () => {
    const { origin, worker } = await site({ kind: "sequence", steps: [good(), failing(500)] }, { cache_statuses: [200, 500] });
    await (await worker.fetch(get())).text();
    worker.clock.advance(61_000);
    for (const attempt of [1, 2]) {
      const rescued = await worker.fetch(get());
      expect(rescued.status, `attempt ${attempt}`).toBe(200);
      expect(cacheStatus(rescued)).toContain("detail=stale-if-error");
      expect((await echoOf(rescued)).n).toBe(1);
    }
    expect(await origin.hits()).toBe(3);
  });

  it("keeps the entry when a route that stores 501s gets one (passed on, not stored), for the 503 that follows", async () => {
    const { origin, worker } = await site({ kind: "sequence", steps: [good(), failing(501), failing(503)] }, { cache_statuses: [200, 501] });
    await (await worker.fetch(get())).text();
    worker.clock.advance(61_000);
    const notImplemented = await worker.fetch(get());
    expect(notImplemented.status).toBe(501);
    expect(cacheStatus(notImplemented)).not.toContain("stored");
    await notImplemented.text();
    const rescued = await worker.fetch(get());
    expect(rescued.status).toBe(200);
    expect((await echoOf(rescued)).n).toBe(1);
    expect(await origin.hits()).toBe(3);
  });

  it("stores a 500 on a route that lists it when there is no entry to keep", async () => {
    const { origin, worker } = await site(failing(500), { cache_statuses: [200, 500] });
    expect(cacheStatus(await worker.fetch(get()))).toContain("stored");
    const hit = await worker.fetch(get());
    expect(hit.status).toBe(500);
    expect(cacheStatus(hit)).toContain("hit");
    expect(await origin.hits()).toBe(1);
  });
});

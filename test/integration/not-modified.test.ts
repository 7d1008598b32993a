// A 304 to Outpost's own revalidation, through the worker against a real `conditional` origin:
// which stored response it updates (RFC 9111 §4.3.4) and which fields it may change (§3.2).
//
// Mutations tried by hand: selectsStoredResponse always true -> "does not refresh the entry from a
// 304 with another ETag" and "asks again without validators"; Content-Encoding / Content-Length
// updatable (not-modified.ts KEPT_ON_UPDATE) -> "keeps the fields that describe the stored body".
import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type OriginBehavior } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;

async function cachedSite(behavior: OriginBehavior, cache: CacheSettings = { stale_if_error_seconds: 0 }) {
  const origin = await createOrigin("origin", behavior);
  const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache }), cache_version: crypto.randomUUID().slice(0, 8) };
  return { origin, worker: createTestWorker(testEnv({ OUTPOST: config })) };
}

const get = (path = "/doc") => new Request(`https://www.example.com${path}`);
const cacheStatus = (response: Response) => response.headers.get("cache-status") ?? "";
const stored = (etag: string, body = "version one", extra: Record<string, string> = {}): OriginBehavior => ({
  kind: "fixed",
  status: 200,
  headers: { "cache-control": "max-age=10", etag, "content-type": "text/plain", ...extra },
  body,
});
/** Revalidations get a 304 with `headers`; unconditional requests get `otherwise`. */
const conditional = (headers: Record<string, string | string[]>, otherwise: OriginBehavior = stored('"v2"', "version two")): OriginBehavior => ({
  kind: "conditional",
  notModified: { headers },
  otherwise,
});

describe("which stored response a 304 updates (RFC 9111 §4.3.4)", () => {
  it("refreshes the entry from a 304 carrying its strong ETag", async () => {
    const { origin, worker } = await cachedSite(stored('"v1"'));
    await (await worker.fetch(get())).text();
    await origin.behave(conditional({ etag: '"v1"', "cache-control": "max-age=60", "x-refreshed": "yes" }));
    worker.clock.advance(11_000);
    const revalidated = await worker.fetch(get());
    expect(cacheStatus(revalidated)).toBe("Outpost; fwd=stale; fwd-status=304; ttl=60; stored");
    expect(revalidated.headers.get("x-refreshed")).toBe("yes");
    expect(await revalidated.text()).toBe("version one");
    expect(await origin.hits()).toBe(2);
  });

  it("does not refresh the entry from a 304 with another ETag, and asks again without validators", async () => {
    const { origin, worker } = await cachedSite(stored('"v1"'));
    await (await worker.fetch(get())).text();
    await origin.behave(conditional({ etag: '"v2"', "cache-control": "max-age=60", "x-refreshed": "yes" }));
    worker.clock.advance(11_000);
    const answer = await worker.fetch(get());
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-refreshed")).toBeNull();
    expect(answer.headers.get("etag")).toBe('"v2"');
    expect(cacheStatus(answer)).toBe("Outpost; fwd=stale; fwd-status=200; ttl=10; stored");
    expect(await answer.text()).toBe("version two");
    const requests = await origin.requests();
    expect(requests.map((r) => r.headers["if-none-match"])).toEqual([undefined, '"v1"', undefined]);
    // What is stored now is the full response the second request brought.
    const hit = await worker.fetch(get());
    expect(cacheStatus(hit)).toContain("hit");
    expect(await hit.text()).toBe("version two");
    expect(await origin.hits()).toBe(3);
  });

  it("does not refresh an entry with a weak ETag from a 304 with the strong one (strong comparison)", async () => {
    const { origin, worker } = await cachedSite(stored('W/"v1"'));
    await (await worker.fetch(get())).text();
    await origin.behave(conditional({ etag: '"v1"', "cache-control": "max-age=60" }));
    worker.clock.advance(11_000);
    expect(await (await worker.fetch(get())).text()).toBe("version two");
    expect(await origin.hits()).toBe(3);
  });

  it("refreshes from a 304 with a weakly matching ETag", async () => {
    const { origin, worker } = await cachedSite(stored('"v1"'));
    await (await worker.fetch(get())).text();
    await origin.behave(conditional({ etag: 'W/"v1"', "cache-control": "max-age=60" }));
    worker.clock.advance(11_000);
    const revalidated = await worker.fetch(get());
    expect(cacheStatus(revalidated)).toContain("fwd-status=304");
    expect(await revalidated.text()).toBe("version one");
    expect(await origin.hits()).toBe(2);
  });

  it("refreshes from a 304 without any validator: it answers the one conditional request sent", async () => {
    const { origin, worker } = await cachedSite(stored('"v1"'));
    await (await worker.fetch(get())).text();
    await origin.behave(conditional({ "cache-control": "max-age=60" }));
    worker.clock.advance(11_000);
    const revalidated = await worker.fetch(get());
    expect(cacheStatus(revalidated)).toContain("fwd-status=304");
    expect(await revalidated.text()).toBe("version one");
    expect(await origin.hits()).toBe(2);
  });
});

describe("what a 304 may change (RFC 9111 §3.2)", () => {
  it("keeps the fields that describe the stored body, and takes the others", async () => {
    const { origin, worker } = await cachedSite(stored('"v1"', "version one", { "x-test": "before" }));
    await (await worker.fetch(get())).text();
    await origin.behave(
      conditional({ etag: '"v1"', "cache-control": "max-age=60", "content-encoding": "gzip", "content-range": "bytes 0-1/2", "content-type": "text/plain; charset=utf-8", "x-test": "after" }),
    );
    worker.clock.advance(11_000);
    const revalidated = await worker.fetch(get());
    expect(cacheStatus(revalidated)).toContain("fwd-status=304");
    expect(revalidated.headers.get("content-encoding")).toBeNull();
    expect(revalidated.headers.get("content-range")).toBeNull();
    expect(revalidated.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(revalidated.headers.get("x-test")).toBe("after");
    expect(await revalidated.text()).toBe("version one");
    const hit = await worker.fetch(get());
    expect(hit.headers.get("content-encoding")).toBeNull();
    expect(await hit.text()).toBe("version one");
  });

  it("gives a 304's Set-Cookie to the revalidating client only (strip_set_cookie)", async () => {
    const { origin, worker } = await cachedSite(stored('"v1"'), { stale_if_error_seconds: 0, strip_set_cookie: true });
    await (await worker.fetch(get())).text();
    await origin.behave(conditional({ etag: '"v1"', "cache-control": "max-age=60", "set-cookie": "sid=mine" }));
    worker.clock.advance(11_000);
    const revalidated = await worker.fetch(get());
    expect(revalidated.headers.get("set-cookie")).toBe("sid=mine");
    expect(cacheStatus(revalidated)).toContain("stored");
    await revalidated.text();
    const hit = await worker.fetch(get());
    expect(cacheStatus(hit)).toContain("hit");
    expect(hit.headers.get("set-cookie")).toBeNull();
  });

});

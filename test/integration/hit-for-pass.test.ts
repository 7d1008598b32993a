// Hit-for-pass (CacheState.rememberUncacheable): a URL whose answer could not be stored skips the
// lookup for a while. It must never hide a stored entry that stale-if-error needs, and one client's
// request (its no-store, Authorization or Cookie) must not switch the cache off for everyone.
//
// Mutations tried by hand: remember over a Vary marker (`!found.marker` removed) -> "keeps a stale
// Vary'd entry ..." (honor mode); isRequestSide always false -> "does not let one client's request
// ..."; no lookup after a failure under hit-for-pass (staleSkipped returns undefined) -> "looks the
// entry up when the origin fails ...".
import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type EchoBody, type OriginBehavior } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv, TestClock } from "../helpers/worker.ts";

type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;

async function cachedSite(behavior: OriginBehavior, cache: CacheSettings = {}) {
  const origin = await createOrigin("origin", behavior);
  const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache }), cache_version: crypto.randomUUID().slice(0, 8) };
  const workerEnv = testEnv({ OUTPOST: config });
  return { origin, worker: createTestWorker(workerEnv), workerEnv };
}

const get = (path: string, headers: Record<string, string> = {}) => new Request(`https://www.example.com${path}`, { headers });
const cacheStatus = (response: Response) => response.headers.get("cache-status") ?? "";
const varied: OriginBehavior = { kind: "echo", headers: { "cache-control": "max-age=10, stale-if-error=600", vary: "Accept-Language" } };

describe.each([{ mode: "ignore" as const }, { mode: "honor" as const }])("request_cache_control = $mode", ({ mode }) => {
  it("keeps a stale Vary'd entry serving on errors after a request with another language and no-store", async () => {
    const { origin, worker } = await cachedSite(varied, { request_cache_control: mode });
    const en = (await (await worker.fetch(get("/v", { "accept-language": "en" }))).json()) as EchoBody;
    worker.clock.advance(11_000);
    await (await worker.fetch(get("/v", { "accept-language": "de", "cache-control": "no-store" }))).text();
    await origin.stop();
    const rescued = await worker.fetch(get("/v", { "accept-language": "en" }));
    expect(rescued.status).toBe(200);
    expect(cacheStatus(rescued)).toContain("detail=stale-if-error");
    expect(((await rescued.json()) as EchoBody).n).toBe(en.n);
  });

  it("does not let one client's no-store switch the lookup off for the others", async () => {
    const { origin, worker } = await cachedSite({ kind: "echo", headers: { "cache-control": "max-age=60" } }, { request_cache_control: mode });
    await (await worker.fetch(get("/p", { "cache-control": "no-store" }))).text();
    const next = await worker.fetch(get("/p"));
    expect(cacheStatus(next)).not.toContain("bypass");
    expect(cacheStatus(next)).not.toContain("recently-uncacheable");
    await next.text();
    const third = await worker.fetch(get("/p"));
    expect(cacheStatus(third)).toContain("hit");
    await third.text();
    expect(await origin.hits()).toBe(mode === "honor" ? 2 : 1);
  });
});

describe("hit-for-pass", () => {
  it("does not let a request with cookies to a heuristically cacheable page switch the lookup off", async () => {
    const lastModified = new Date(Date.UTC(2026, 0, 1)).toUTCString();
    const { worker } = await cachedSite({ kind: "echo", headers: { "last-modified": lastModified } });
    await (await worker.fetch(get("/h", { cookie: "sid=1" }))).text();
    const anonymous = await worker.fetch(get("/h"));
    expect(cacheStatus(anonymous)).toContain("fwd=miss");
    expect(cacheStatus(anonymous)).toContain("stored");
    await anonymous.text();
  });

  it("still remembers a URL whose answers are unstorable, and looks the entry up when the origin fails", async () => {
    const { origin, worker, workerEnv } = await cachedSite({ kind: "echo", headers: { "cache-control": "no-store" } });
    await (await worker.fetch(get("/u"))).text();
    const passed = await worker.fetch(get("/u"));
    expect(cacheStatus(passed)).toContain("fwd=bypass");
    await passed.text();
    // Another isolate stores an entry for the URL once the origin allows it ...
    await origin.behave({ kind: "echo", headers: { "cache-control": "max-age=10, stale-if-error=600" } });
    const other = createTestWorker(workerEnv, { clock: new TestClock(worker.clock.now()) });
    const stored = (await (await other.fetch(get("/u"))).json()) as EchoBody;
    // ... and when the origin fails, the isolate that passes still finds it.
    await origin.stop();
    worker.clock.advance(11_000);
    const rescued = await worker.fetch(get("/u"));
    expect(rescued.status).toBe(200);
    expect(cacheStatus(rescued)).toContain("detail=stale-if-error");
    expect(((await rescued.json()) as EchoBody).n).toBe(stored.n);
  });
});

// The origin shield end to end: the OriginShield Durable Object from wrangler.toml (run by the vitest
// plugin), workers with their own deps standing for isolates in different locations, real KV and
// counting origins. Each object is given the test's env (runInDurableObject), as production gives
// it the worker's. Failures of the object itself are mocks (say so below): the real object cannot be
// made unreachable or slow on demand.
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp, createDeps } from "../../src/app.ts";
import type { OriginShield } from "../../src/coordination/origin-shield.ts";
import { SHIELD_RETRY_MS, shardName } from "../../src/coordination/shield-client.ts";
import { SHIELD_BINDING } from "../../src/coordination/shield-protocol.ts";
import type { OutpostConfigInput, ShieldConfig } from "../../src/config/schema.ts";
import type { OutpostEnv } from "../../src/env.ts";
import { createOrigin, type EchoBody, type OriginBehavior, type TestOrigin } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv, TestClock } from "../helpers/worker.ts";

type Namespace = DurableObjectNamespace<OriginShield>;
const realNamespace = () => (env as unknown as Record<string, Namespace>)[SHIELD_BINDING]!;
const SHIELD: Partial<ShieldConfig> = { shards: 1, timeout_ms: 3_000 };

/** Counts KV writes (a real KV, wrapped): a location whose fills went through the shield writes none. */
function countingKv(kv: KVNamespace) {
  const puts: string[] = [];
  const counted = new Proxy(kv, {
    get(target, property) {
      if (property === "put") return (key: string, ...rest: unknown[]) => (puts.push(key), (target.put as (...args: unknown[]) => Promise<void>)(key, ...rest));
      const value = Reflect.get(target, property) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { kv: counted, puts };
}

const TOKEN = "shield-test-admin-token-0123456789";

async function shieldedSite(
  behavior: OriginBehavior,
  options: { shield?: Partial<ShieldConfig>; namespace?: Namespace; tiers?: Array<"memory" | "colo" | "kv">; clock?: TestClock; keyByCountry?: boolean } = {},
) {
  const origin = await createOrigin("o", behavior);
  const config: OutpostConfigInput = {
    ...siteConfig([{ name: "main", origins: [{ name: "o", address: origin.url }], shield: { ...SHIELD, ...options.shield } }], {
      cache: { admission: { kv_after_requests: 1 }, ...(options.keyByCountry && { key: { country: true } }) },
    }),
    cache_version: crypto.randomUUID().slice(0, 8),
    ...(options.tiers && { cache_tiers: options.tiers }),
  };
  const shieldEnv = testEnv({ OUTPOST: config });
  const namespace = options.namespace ?? realNamespace();
  if (!options.namespace) {
    // Production gives every object the worker's env; here each object gets this test's.
    const shards = options.shield?.shards ?? SHIELD.shards!;
    for (let shard = 0; shard < shards; shard += 1) {
      await runInDurableObject(realNamespace().get(realNamespace().idFromName(`main/${shard}`)), (instance: OriginShield) => {
        (instance as unknown as { env: OutpostEnv }).env = shieldEnv;
      });
    }
  }
  const locationKv = countingKv(env.OUTPOST_CACHE);
  const locationEnv = testEnv({ OUTPOST: config, OUTPOST_CACHE: locationKv.kv, OUTPOST_ADMIN_TOKEN: TOKEN, [SHIELD_BINDING]: namespace });
  const clock = options.clock ?? new TestClock();
  const location = () => createTestWorker(locationEnv, { clock });
  /** A request at a location of its own, answered as soon as its headers are (its background work is not awaited). */
  const startAt = (url: string, colo: string) => createApp(createDeps(clock, () => 0, () => 1)).fetch(new Request(url, { cf: { colo } }), locationEnv, createExecutionContext());
  return { origin, clock, location, locationKv, config, startAt };
}

let path = 0;
const freshUrl = () => `https://shop.example.com/p/${(path += 1)}`;
const get = (worker: ReturnType<typeof createTestWorker>, url: string, colo: string) => worker.fetch(new Request(url, { cf: { colo } }));

async function settled(origin: TestOrigin, count: number) {
  for (let tries = 0; tries < 200 && (await origin.hits()) < count; tries += 1) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("collapsing fills across locations", () => {
  it("fetches an object once for 3 locations x 10 concurrent misses, and the shield writes KV, not the locations", async () => {
    const { origin, location, locationKv } = await shieldedSite({ kind: "held", then: { kind: "echo", headers: { "cache-control": "public, max-age=600" } } });
    const url = freshUrl();
    const locations = ["FRA", "IAD", "NRT"].map((colo) => ({ colo, worker: location() }));
    const answers = locations.flatMap(({ colo, worker }) => Array.from({ length: 10 }, () => get(worker, url, colo)));
    await settled(origin, 1);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the other locations' fills reach the shield
    await origin.release();
    const responses = await Promise.all(answers);
    const bodies = await Promise.all(responses.map((response) => response.text()));
    expect(responses.map((response) => response.status)).toEqual(Array(30).fill(200));
    expect(new Set(bodies).size).toBe(1);
    expect(await origin.hits()).toBe(1);
    const upstreams = responses.map((response) => response.headers.get("outpost-upstream") ?? "").filter((value) => value.includes("shield="));
    expect(upstreams.length).toBeGreaterThanOrEqual(3); // each location's leader went through the shield
    expect(upstreams.some((value) => value.includes('shield="miss"'))).toBe(true);
    expect(upstreams.filter((value) => value.includes('shield="miss"'))).toHaveLength(1);
    // The shield stored the entry in KV; no location wrote it again.
    const keys = await env.OUTPOST_CACHE.list({ prefix: "outpost:" });
    expect(keys.keys.some((key) => key.name.includes(new URL(url).pathname))).toBe(true);
    expect(locationKv.puts.filter((key) => key.includes(new URL(url).pathname))).toEqual([]);
  });

  it("streams the body to a waiting location as it arrives, not after its end (one origin request)", async () => {
    const first = "first part of the body, ";
    const rest = "and the rest of it";
    const { origin, startAt } = await shieldedSite({
      kind: "held-stream",
      firstChunk: first,
      rest,
      headers: { "cache-control": "public, max-age=600", "content-length": String(first.length + rest.length) },
    });
    const url = freshUrl();
    const leader = await startAt(url, "FRA"); // the origin's headers and first bytes are here, the rest held
    let waiterAnswered = false;
    const waiting = startAt(url, "NRT").then((response) => ((waiterAnswered = true), response));
    for (let tries = 0; tries < 200 && !waiterAnswered; tries += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(waiterAnswered).toBe(true); // before the origin sent the rest
    const waiter = await waiting;
    expect(waiter.headers.get("outpost-upstream")).toContain('shield="collapsed"');
    const reader = waiter.body!.getReader();
    const start = new TextDecoder().decode((await reader.read()).value);
    expect(start.length).toBeGreaterThan(0);
    expect(first.startsWith(start)).toBe(true);
    await origin.release();
    let whole = start;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) whole += new TextDecoder().decode(chunk.value);
    expect(whole).toBe(first + rest);
    expect(await leader.text()).toBe(first + rest);
    expect(await origin.hits()).toBe(1);
  });

  it("gives waiting locations the whole decoded body of a gzip answer (its Content-Length counts coded bytes, so it is not streamed by length)", async () => {
    const text = "compressible line of the body\n".repeat(4_000);
    const { origin, startAt } = await shieldedSite({ kind: "held", then: { kind: "gzip", text, headers: { "cache-control": "public, max-age=600" } } });
    const url = freshUrl();
    const leader = startAt(url, "FRA");
    await settled(origin, 1);
    const waiters = ["NRT", "SYD"].map((colo) => startAt(url, colo));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the waiters' fills reach the shield
    await origin.release();
    const responses = await Promise.all([leader, ...waiters]);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(responses.map((response) => response.headers.get("outpost-upstream")).filter((value) => value?.includes('shield="collapsed"')).length).toBeGreaterThanOrEqual(1);
    for (const response of responses) expect(await response.text()).toBe(text);
    expect(await origin.hits()).toBe(1);
  });

  it("fails a location's body when the origin's broke off at the shield (a short body is never passed or stored as whole)", async () => {
    const { origin, startAt } = await shieldedSite({ kind: "broken-body", headers: { "cache-control": "public, max-age=600" }, firstChunk: "only this much", declaredLength: 1_000, end: "reset" });
    const url = freshUrl();
    const leader = await startAt(url, "FRA");
    const waiter = await startAt(url, "NRT");
    expect([leader.status, waiter.status]).toEqual([200, 200]);
    await expect(leader.text()).rejects.toThrow();
    await expect(waiter.text()).rejects.toThrow();
    // Nothing was stored: the next location asks again.
    const again = await startAt(url, "SYD");
    await again.body?.cancel();
    expect(await origin.hits()).toBeGreaterThanOrEqual(2);
  });

  it("answers a later location from the shield's copy without asking the origin", async () => {
    // Hot tier only, so the second location's own tiers miss (this runtime shares one Cache API and
    // one KV between the test's locations) and its fill must reach the shield.
    const { origin, location } = await shieldedSite({ kind: "echo", headers: { "cache-control": "public, max-age=600" } }, { tiers: ["memory"] });
    const url = freshUrl();
    const first = await get(location(), url, "FRA");
    expect(first.headers.get("outpost-upstream")).toContain('shield="miss"');
    const firstBody = await first.text();
    const second = await get(location(), url, "NRT");
    expect(second.headers.get("outpost-upstream")).toContain('shield="hit"');
    expect(second.headers.get("cache-status")).toMatch(/^Outpost; fwd=miss; fwd-status=200; ttl=\d+; stored$/);
    expect(Number(second.headers.get("age"))).toBeGreaterThanOrEqual(0);
    expect(await second.text()).toBe(firstBody);
    expect(await origin.hits()).toBe(1);
  });

  it("keys a request by the visitor's country at the shield when the route's key does", async () => {
    const { origin, location } = await shieldedSite({ kind: "echo", headers: { "cache-control": "public, max-age=600" } }, { tiers: ["memory"], keyByCountry: true });
    const url = freshUrl();
    const fromCountry = (country: string) => location().fetch(new Request(url, { cf: { colo: "FRA", country } }));
    const japan = await fromCountry("JP");
    expect(japan.headers.get("outpost-upstream")).toContain('shield="miss"');
    await japan.text();
    const germany = await fromCountry("DE");
    expect(germany.headers.get("outpost-upstream")).toContain('shield="miss"');
    await germany.text();
    const japanAgain = await fromCountry("JP");
    expect(japanAgain.headers.get("outpost-upstream")).toContain('shield="hit"');
    await japanAgain.text();
    expect(await origin.hits()).toBe(2);
  });

  it("never passes one visitor's Set-Cookie to another: each location's client gets its own origin answer", async () => {
    const { origin, location } = await shieldedSite({ kind: "held", then: { kind: "echo", headers: { "cache-control": "public, max-age=600", "set-cookie": "session=secret" } } });
    const url = freshUrl();
    const answers = [get(location(), url, "FRA"), get(location(), url, "IAD")];
    await settled(origin, 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await origin.release();
    await settled(origin, 2); // the shield's waiter, told the answer was not storable, asks for itself
    await origin.release();
    const responses = await Promise.all(answers);
    const seen = await Promise.all(responses.map(async (response) => ({ cookie: response.headers.get("set-cookie"), n: ((await response.json()) as { n: number }).n })));
    // Unstorable (Set-Cookie): the shield's waiter fetched for itself, so each cookie came with its own answer.
    expect(await origin.hits()).toBe(2);
    expect(new Set(seen.map((answer) => answer.n)).size).toBe(2);
    expect(seen.every((answer) => answer.cookie === "session=secret")).toBe(true);
  });
});

describe("what does not go through the shield, and purges", () => {
  it("sends a key this isolate found unstorable lately straight to the origin (nothing to share or store)", async () => {
    const { origin, location } = await shieldedSite({ kind: "echo", headers: { "cache-control": "no-store" } });
    const worker = location();
    const url = freshUrl();
    const first = await get(worker, url, "FRA");
    expect(first.headers.get("outpost-upstream")).toContain('shield="miss"');
    await first.text();
    const second = await get(worker, url, "FRA");
    expect(second.headers.get("outpost-upstream")).not.toContain("shield=");
    expect(second.headers.get("server-timing")).not.toContain("shield;");
    await second.text();
    expect(await origin.hits()).toBe(2);
  });

  it("sends an authenticated request straight to the origin (its answer is never shared or stored by the shield)", async () => {
    const { origin, location } = await shieldedSite({ kind: "echo", headers: { "cache-control": "public, max-age=600" } });
    const response = await location().fetch(new Request(freshUrl(), { headers: { authorization: "Bearer visitor-token" }, cf: { colo: "FRA" } }));
    expect(response.headers.get("outpost-upstream")).not.toContain("shield=");
    expect(((await response.json()) as EchoBody).headers.authorization).toBe("Bearer visitor-token");
    expect(await origin.hits()).toBe(1);
  });

  it("never lets the origin see what a location tells its shield", async () => {
    const { location } = await shieldedSite({ kind: "echo", headers: { "cache-control": "public, max-age=600" } }, { keyByCountry: true });
    const response = await location().fetch(new Request(freshUrl(), { cf: { colo: "FRA", country: "DE" } }));
    expect(response.headers.get("outpost-upstream")).toContain('shield="miss"');
    const seen = Object.keys(((await response.json()) as EchoBody).headers);
    expect(seen.filter((name) => name.startsWith("outpost-shield"))).toEqual([]);
  });

  it("never hands back a copy purged at the asking location, though the shield has not read the purge yet", async () => {
    // The locations' clock starts at the real time: the shield's entries are stamped by the real clock.
    const clock = new TestClock(Date.now());
    const { origin, location } = await shieldedSite({ kind: "echo", headers: { "cache-control": "public, max-age=600" } }, { tiers: ["memory"], clock });
    const url = freshUrl();
    const first = (await (await get(location(), url, "FRA")).json()) as { n: number };
    clock.advance(1_000);
    const purging = location();
    const purge = await purging.fetch(
      new Request("https://shop.example.com/__outpost/purge", { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ files: [url] }) }),
    );
    expect(purge.status).toBe(200);
    await purge.text();
    // The shield read its ledger a moment ago and re-reads it only after a second: it is behind.
    const after = await get(purging, url, "NRT");
    expect(after.headers.get("outpost-upstream")).toContain('shield="miss"');
    const second = (await after.json()) as { n: number };
    expect(second.n).toBe(first.n + 1);
    expect(await origin.hits()).toBe(2);
  });
  it("keeps the purge tags of a shielded answer with the location's copy: a tag purge removes it", async () => {
    const clock = new TestClock(Date.now());
    const tagged = { kind: "echo", headers: { "cache-control": "public, max-age=600", "cache-tag": "Product-7, catalogue" } } as const;
    const { origin, location } = await shieldedSite(tagged, { tiers: ["memory"], clock });
    const worker = location();
    const url = freshUrl();
    const first = await get(worker, url, "FRA");
    expect(first.headers.get("outpost-upstream")).toContain('shield="miss"');
    expect(first.headers.get("cache-tag")).toBeNull(); // purge tags are for the CDN, never the visitor
    const before = (await first.json()) as { n: number };
    const hit = await get(worker, url, "FRA");
    expect(hit.headers.get("cache-status")).toContain("hit");
    await hit.text();
    clock.advance(1_000);
    const purge = await worker.fetch(
      new Request("https://shop.example.com/__outpost/purge", { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ tags: ["product-7"] }) }),
    );
    expect(purge.status).toBe(200);
    await purge.text();
    const after = await get(worker, url, "FRA");
    expect(after.headers.get("cache-status")).toContain("detail=purged");
    expect(((await after.json()) as { n: number }).n).toBe(before.n + 1);
    expect(await origin.hits()).toBe(2);
  });
});

describe("when the shield fails, the location fetches the origin itself", () => {
  /** A mock namespace whose calls reject (an object overloaded or reset; the real one cannot be made to on demand). */
  function rejecting() {
    const calls = { count: 0 };
    const namespace = { idFromName: (name: string) => ({ name }), get: () => ({ fetch: () => ((calls.count += 1), Promise.reject(new Error("Durable Object reset (mock)"))) }) };
    return { namespace: namespace as unknown as Namespace, calls };
  }

  it("answers from the origin with detail=shield-bypass, and skips the shard for a while", async () => {
    const { namespace, calls } = rejecting();
    const { origin, location, clock } = await shieldedSite({ kind: "echo", headers: { "cache-control": "public, max-age=600" } }, { namespace });
    const worker = location();
    const first = await get(worker, freshUrl(), "FRA");
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-status")).toContain("detail=shield-bypass");
    expect(first.headers.get("server-timing")).toContain('shield;dur=0;desc="bypass:unreachable"');
    await first.text();
    const second = await get(worker, freshUrl(), "FRA");
    expect(second.headers.get("server-timing")).toContain('desc="bypass:recent-failure"');
    await second.text();
    expect(calls.count).toBe(1);
    clock.advance(SHIELD_RETRY_MS);
    await (await get(worker, freshUrl(), "FRA")).text();
    expect(calls.count).toBe(2);
    expect(await origin.hits()).toBe(3);
    expect(worker.deps.shields.usage).toEqual({ answered: 0, bypassed: 3 });
  });

  it("stops waiting at shield.timeout_ms on the injected clock", async () => {
    const calls = { count: 0 };
    // A mock object that never answers.
    const namespace = { idFromName: (name: string) => ({ name }), get: () => ({ fetch: () => ((calls.count += 1), new Promise<Response>(() => {})) }) } as unknown as Namespace;
    const { origin, location, clock } = await shieldedSite({ kind: "echo", headers: { "cache-control": "public, max-age=600" } }, { namespace, shield: { timeout_ms: 4_000 } });
    const answer = get(location(), freshUrl(), "FRA");
    for (let tries = 0; tries < 200 && calls.count === 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    clock.advance(3_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await origin.hits()).toBe(0);
    clock.advance(1);
    const response = await answer;
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-status")).toContain("detail=shield-bypass");
    expect(response.headers.get("server-timing")).toContain('desc="bypass:timeout"');
    expect(await origin.hits()).toBe(1);
  });

  it("sends a location past the shield's in-flight cap to the origin (the real object, max_in_flight = 1)", async () => {
    const { origin, location } = await shieldedSite({ kind: "held", then: { kind: "echo", headers: { "cache-control": "public, max-age=600" } } }, { shield: { max_in_flight: 1 } });
    const occupying = get(location(), freshUrl(), "FRA");
    await settled(origin, 1);
    const refused = get(location(), freshUrl(), "IAD");
    await settled(origin, 2);
    await origin.release();
    const [first, second] = await Promise.all([occupying, refused]);
    expect(first.headers.get("outpost-upstream")).toContain('shield="miss"');
    expect(second.headers.get("cache-status")).toContain("detail=shield-bypass");
    expect(second.headers.get("server-timing")).toContain('desc="bypass:overloaded"');
    await Promise.all([first.text(), second.text()]);
    expect(await origin.hits()).toBe(2);
  });

  it("does not ask the failing origin again when it failed at the shield: the fill fails (502) once", async () => {
    const { origin, location } = await shieldedSite({ kind: "reset" });
    const response = await get(location(), freshUrl(), "FRA");
    expect(response.status).toBe(502);
    expect(response.headers.get("server-timing")).toContain('shield;dur=0;desc="origin-failed"');
    const body = (await response.json()) as { error: { attempts: Array<{ origin: string }> } };
    expect(body.error.attempts.map((attempt) => attempt.origin)).toEqual(["o"]);
    expect(await origin.hits()).toBe(1);
  });
});

describe("without the binding", () => {
  it("a pool's shield setting does nothing: the location fetches the origin itself, with no shield detail", async () => {
    const { origin, config } = await shieldedSite({ kind: "echo", headers: { "cache-control": "public, max-age=600" } });
    const worker = createTestWorker(testEnv({ OUTPOST: config, [SHIELD_BINDING]: undefined }), { clock: new TestClock() });
    const response = await get(worker, freshUrl(), "FRA");
    expect(response.headers.get("outpost-upstream")).not.toContain("shield=");
    expect(response.headers.get("server-timing")).not.toContain("shield;");
    await response.text();
    expect(await origin.hits()).toBe(1);
  });

  it("shards keys by their URL within the pool", () => {
    const shield = { shards: 4 } as ShieldConfig;
    const names = new Set(Array.from({ length: 40 }, (_, index) => shardName("main", shield, `https://shop.example.com/p/${index}`)));
    expect([...names].every((name) => /^main\/[0-3]$/.test(name))).toBe(true);
    expect(names.size).toBe(4);
  });
});

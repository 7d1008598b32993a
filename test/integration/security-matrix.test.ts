// The security catalogue as a policy matrix (TESTING.md §3): every safety rule runs under each route
// policy an operator can pick, because the leaks appear when an option that forces caching is on.
// A configured TTL changes how long an answer is fresh, never whether it may be stored or shared.
// Each test asserts what the second visitor received and how many requests the origin saw.
//
// Mutations these tests kill (each tried by hand; test/integration/stale-if-error.test.ts and the
// decideStorage block of test/unit/cache/freshness.test.ts cover the rest):
// - the old rule, `policy.edge_ttl_seconds ?? explicitLifetime(...)` deciding whether: the 5xx/4xx,
//   no-pinning, Authorization and session-cookie rules fail (74 tests red, 14 of them under the edge TTL);
// - the cache_statuses check in decideStorage removed: "never stores a 500 … 431" fails under every policy;
// - `policy.cache_authorized &&` removed: the Authorization rule fails for public, s-maxage, must-revalidate;
// - the cookie rule taking an explicit max-age=0 as the origin's word (`>= 0`): the ETag case fails.
import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type EchoBody, type OriginBehavior } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;

interface Policy {
  name: string;
  cache: CacheSettings;
  tiers?: OutpostConfigInput["cache_tiers"];
}

/**
 * The policies of TESTING.md §3. Origins below send max-age=5 and the forced edge TTL is 8 s, so
 * advancing STALE_AFTER_MS makes every entry stale while the hot tier (10 s) still holds it.
 */
const POLICIES: Policy[] = [
  { name: "the default policy", cache: {} },
  { name: "a forced edge TTL", cache: { edge_ttl_seconds: 8 } },
  { name: "strip_set_cookie", cache: { strip_set_cookie: true } },
  { name: "a route keyed by cookies", cache: { key: { cookies: ["lang"] } } },
  { name: "a memory-only cache", cache: {}, tiers: ["memory"] },
  { name: 'request_cache_control = "honor"', cache: { request_cache_control: "honor" } },
];
const STALE_AFTER_MS = 9_000;

const get = (headers: Record<string, string> = {}) => new Request("https://www.example.com/account/x.css", { headers });
const echo = (cacheControl: string | undefined, extra: Record<string, string> = {}): OriginBehavior => ({
  kind: "echo",
  headers: { ...(cacheControl === undefined ? {} : { "cache-control": cacheControl }), ...extra },
});
const failing = (status: number, cacheControl = "max-age=60"): OriginBehavior => ({ kind: "fixed", status, headers: { "cache-control": cacheControl }, body: `error ${status}` });
const cacheStatus = (response: Response) => response.headers.get("cache-status") ?? "";
const isHit = (response: Response) => /;\s*hit\b/.test(cacheStatus(response));
const echoOf = async (response: Response) => (await response.json()) as EchoBody;
const LONG_AGO = "Sat, 01 Nov 2025 00:00:00 GMT";

describe.each(POLICIES)("under $name", ({ cache, tiers }) => {
  async function site(behavior: OriginBehavior) {
    const origin = await createOrigin("origin", behavior);
    const config: OutpostConfigInput = {
      ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache }),
      cache_version: crypto.randomUUID().slice(0, 8),
      ...(tiers ? { cache_tiers: tiers } : {}),
    };
    return { origin, worker: createTestWorker(testEnv({ OUTPOST: config })) };
  }

  it("gives a response's Set-Cookie only to the client whose request produced it", async () => {
    const { origin, worker } = await site({
      kind: "sequence",
      steps: [echo("max-age=5", { "set-cookie": "session=victim-secret; HttpOnly" }), echo("max-age=5")],
    });
    const victim = await worker.fetch(get());
    expect(victim.headers.get("set-cookie")).toBe("session=victim-secret; HttpOnly");
    await victim.text();

    const other = await worker.fetch(get());
    expect(other.status).toBe(200);
    expect(other.headers.get("set-cookie")).toBeNull();
    // Stored only when the route strips the cookie: the stored copy then has none.
    expect(isHit(other)).toBe(cache.strip_set_cookie === true);
    expect((await echoOf(other)).n).toBe(cache.strip_set_cookie ? 1 : 2);
    expect(await origin.hits()).toBe(cache.strip_set_cookie ? 1 : 2);
  });

  it.each(["private, max-age=60", "no-store", "no-store, max-age=60"])("never stores a response with Cache-Control: %s", async (cacheControl) => {
    const { origin, worker } = await site(echo(cacheControl));
    await (await worker.fetch(get())).text();
    const second = await worker.fetch(get());
    expect(isHit(second)).toBe(false);
    expect((await echoOf(second)).n).toBe(2);
    expect(await origin.hits()).toBe(2);
  });

  it.each([500, 502, 503, 400, 403, 431])("never stores a %i, even with explicit freshness", async (status) => {
    const { origin, worker } = await site(failing(status));
    const first = await worker.fetch(get());
    expect(first.status).toBe(status);
    expect(cacheStatus(first)).not.toContain("stored");
    await first.text();
    const second = await worker.fetch(get());
    expect(second.status).toBe(status);
    expect(isHit(second)).toBe(false);
    expect(await second.text()).toBe(`error ${status}`);
    expect(await origin.hits()).toBe(2);
  });

  it("serves the recovered origin's 200 right after a 500 (no pinned error)", async () => {
    const { origin, worker } = await site({ kind: "sequence", steps: [failing(500), echo("max-age=5")] });
    expect((await worker.fetch(get())).status).toBe(500);
    const recovered = await worker.fetch(get());
    expect(recovered.status).toBe(200);
    expect((await echoOf(recovered)).n).toBe(2);
    const hit = await worker.fetch(get());
    expect(isHit(hit)).toBe(true);
    expect((await echoOf(hit)).n).toBe(2);
    expect(await origin.hits()).toBe(2);
  });

  it.each(["max-age=60", "public, max-age=60", "s-maxage=60", "must-revalidate, max-age=60"])(
    "never shares the answer to a request with Authorization (Cache-Control: %s)",
    async (cacheControl) => {
      const { origin, worker } = await site(echo(cacheControl));
      const authorized = await worker.fetch(get({ authorization: "Bearer victim-token" }));
      expect(cacheStatus(authorized)).not.toContain("stored");
      await authorized.text();
      const anonymous = await worker.fetch(get());
      expect(isHit(anonymous)).toBe(false);
      expect((await echoOf(anonymous)).headers.authorization).toBeUndefined();
      expect(await origin.hits()).toBe(2);
    },
  );

  it.each([
    ["no freshness at all", echo(undefined)],
    ["only Last-Modified (heuristic freshness)", echo(undefined, { "last-modified": LONG_AGO })],
    ["max-age=0 and an ETag (stale at once)", echo("max-age=0", { etag: '"victim-v1"' })],
  ])("does not share the answer to a request with a session cookie when the origin sends %s", async (_case, behavior) => {
    // The same keyed cookie (lang) on both requests: only the session differs.
    const { origin, worker } = await site(behavior);
    const victim = await worker.fetch(get({ cookie: "lang=en; session=victim-secret" }));
    expect(cacheStatus(victim)).not.toContain("stored");
    await victim.text();
    const attacker = await worker.fetch(get({ cookie: "lang=en; session=attacker" }));
    expect(isHit(attacker)).toBe(false);
    expect((await echoOf(attacker)).headers.cookie).toBe("lang=en; session=attacker");
    expect(await origin.hits()).toBe(2);
    // Nothing stored, so no victim's validator is sent on the attacker's behalf.
    expect((await origin.requests())[1]?.headers["if-none-match"]).toBeUndefined();
  });

  it("keeps a stale entry through an origin's 500s and serves it (stale-if-error)", async () => {
    const { origin, worker } = await site({ kind: "sequence", steps: [echo("max-age=5"), failing(500)] });
    await (await worker.fetch(get())).text();
    worker.clock.advance(STALE_AFTER_MS);
    for (const attempt of [1, 2]) {
      const rescued = await worker.fetch(get());
      expect(rescued.status, `attempt ${attempt}`).toBe(200);
      expect(cacheStatus(rescued)).toContain("fwd-status=500");
      expect(cacheStatus(rescued)).toContain("detail=stale-if-error");
      expect((await echoOf(rescued)).n).toBe(1);
    }
    expect(await origin.hits()).toBe(3);
  });
});

// Collapsed fills raced for real: N requests for one key start while the origin holds its answer
// (or stalls mid-body), the origin is released afterwards, and every response is checked (status,
// body, Set-Cookie, variant) along with how many requests the origin saw.
//
// Mutations tried by hand, each failing a test here:
// - collapse authenticated requests (serve-with-cache: `skipLookup` without `authenticated`)
//   -> "never collapses an authenticated request into another client's fill";
// - keep the client's Range on the fill (fill-from-origin: RANGE_FIELDS empty) -> "one origin request" (range leader);
// - forward an ignored no-store (REQUEST_DIRECTIVES empty) -> "one origin request" (no-store leader);
// - the fill request keeps the client's signal -> "keeps the fill going when its leader disconnects";
// - no deadline timer (startFill never settles on its own) -> "answers every waiter of a stalled fill";
// - share `none` on a failed fill -> "answers the waiters of a failed fill once";
// - share the revalidated entry with the 304's Set-Cookie merged -> the Set-Cookie tests.
// - no look at the hot tier before leading a fill (fill-from-origin: filledMeanwhile) -> "answers a request whose lookup ended after the fill".
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp, createDeps } from "../../src/app.ts";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import type { OutpostEnv } from "../../src/env.ts";
import { createOrigin, type EchoBody, type OriginBehavior } from "../helpers/origins.ts";
import { siteConfig, TestClock, testEnv } from "../helpers/worker.ts";

type CacheSettings = NonNullable<OutpostConfigInput["routes"][number]["cache"]>;
type RouteSettings = Partial<OutpostConfigInput["routes"][number]>;

const DEADLINE_MS = 5_000;

/** One isolate whose requests run concurrently, each with its own execution context. */
async function racingSite(behavior: OriginBehavior, cache: CacheSettings = {}, route: RouteSettings = {}, overrides: Partial<OutpostEnv> = {}) {
  const origin = await createOrigin("origin", behavior);
  const config = {
    ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { deadline_ms: DEADLINE_MS, ...route, cache }),
    cache_version: crypto.randomUUID().slice(0, 8),
  };
  const workerEnv: OutpostEnv = testEnv({ OUTPOST: config, ...overrides });
  const clock = new TestClock();
  const deps = createDeps(clock, () => 0, () => 1);
  const app = createApp(deps);
  const contexts: ExecutionContext[] = [];
  const start = (request: Request): Promise<Response> => {
    const ctx = createExecutionContext();
    contexts.push(ctx);
    return Promise.resolve(app.fetch(request, workerEnv, ctx));
  };
  const waiters = () => [...deps.cacheState.inflight.values()].reduce((n, fill) => n + fill.waiters, 0);
  /** Lets the runtime run until `done()` holds (real turns of the event loop, never a timed sleep in an assertion). */
  const until = async (done: () => boolean | Promise<boolean>, what: string) => {
    for (let turn = 0; turn < 2_000; turn += 1) {
      if (await done()) return;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const settle = async () => {
    for (const ctx of contexts) await waitOnExecutionContext(ctx);
  };
  return { origin, clock, deps, start, waiters, until, settle };
}

const get = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) => new Request(`https://www.example.com${path}`, { headers, ...init });
const cacheStatus = (response: Response) => response.headers.get("cache-status") ?? "";
const BODY = "0123456789abcdefghij";
const cacheable = (extra: Record<string, string | string[]> = {}): OriginBehavior => ({
  kind: "fixed",
  status: 200,
  headers: { "cache-control": "max-age=60", "content-length": String(BODY.length), ...extra },
  body: BODY,
});

describe.each<{ leader: string; headers: Record<string, string> }>([
  { leader: "a plain GET", headers: {} },
  { leader: "a GET with Range", headers: { range: "bytes=0-3" } },
  { leader: "a GET with Cache-Control: no-store", headers: { "cache-control": "no-store" } },
  { leader: "a GET with Pragma: no-cache and Range", headers: { pragma: "no-cache", range: "bytes=-2" } },
])("21 concurrent GETs of one key led by $leader", ({ headers }) => {
  it("make one origin request, and every client gets its own answer cut from it", async () => {
    const { origin, start, waiters, until, settle } = await racingSite({ kind: "held", then: cacheable() });
    const leader = start(get("/hot", headers));
    await until(async () => (await origin.hits()) === 1, "the leader to reach the origin");
    const others = [
      start(get("/hot", { range: "bytes=2-5" })),
      start(get("/hot", { "cache-control": "no-store" })),
      ...Array.from({ length: 18 }, () => start(get("/hot"))),
    ];
    await until(() => waiters() === 20, "20 waiters");
    await origin.release();
    const [first, ranged, noStore, ...plain] = (await Promise.all([leader, ...others])) as [Response, Response, Response, ...Response[]];

    expect(await origin.hits()).toBe(1);
    const sent = (await origin.requests())[0]!;
    expect(sent.headers.range).toBeUndefined();
    // The client's directives are not forwarded; what the origin sees is only what the runtime adds
    // for the fill's `cache: "no-store"` (workerd sends Cache-Control and Pragma: no-cache).
    expect(sent.headers["cache-control"]).toBe("no-cache");
    expect(sent.headers.pragma).toBe("no-cache");

    expect(cacheStatus(first)).toContain("stored");
    if ("range" in headers) {
      expect(first.status).toBe(206);
      const [from, to] = headers.range === "bytes=0-3" ? [0, 3] : [18, 19];
      expect(first.headers.get("content-range")).toBe(`bytes ${from}-${to}/20`);
      expect(await first.text()).toBe(BODY.slice(from, to + 1));
    } else {
      expect(first.status).toBe(200);
      expect(await first.text()).toBe(BODY);
    }
    expect(ranged.status).toBe(206);
    expect(cacheStatus(ranged)).toContain("collapsed");
    expect(await ranged.text()).toBe("2345");
    for (const response of [noStore, ...plain]) {
      expect(response.status).toBe(200);
      expect(cacheStatus(response)).toContain("collapsed");
      expect(await response.text()).toBe(BODY);
    }
    await settle();
  });
});

describe("Set-Cookie reaches only the client whose request produced it", () => {
  it("gives waiters the stored copy without the leader's Set-Cookie (strip_set_cookie)", async () => {
    const { origin, start, waiters, until, settle } = await racingSite({ kind: "held", then: cacheable({ "set-cookie": ["sid=leader-secret", "theme=dark"] }) }, { strip_set_cookie: true });
    const leader = start(get("/cookie"));
    await until(async () => (await origin.hits()) === 1, "the leader");
    const others = Array.from({ length: 5 }, () => start(get("/cookie")));
    await until(() => waiters() === 5, "5 waiters");
    await origin.release();
    const [first, ...rest] = await Promise.all([leader, ...others]);
    expect(first.headers.getSetCookie()).toEqual(["sid=leader-secret", "theme=dark"]);
    for (const response of rest) {
      expect(response.headers.get("set-cookie")).toBeNull();
      expect(await response.text()).toBe(BODY);
    }
    expect(await origin.hits()).toBe(1);
    await first.text();
    await settle();
  });

  it("sends each waiter to the origin for its own cookie when the answer may not be stored (default policy)", async () => {
    const { origin, start, waiters, until, settle } = await racingSite({
      kind: "sequence",
      steps: [{ kind: "held", then: cacheable({ "set-cookie": "sid=leader-secret" }) }, cacheable({ "set-cookie": "sid=someone-else" })],
    });
    const leader = start(get("/cookie"));
    await until(async () => (await origin.hits()) === 1, "the leader");
    const others = Array.from({ length: 4 }, () => start(get("/cookie")));
    await until(() => waiters() === 4, "4 waiters");
    await origin.release();
    const [first, ...rest] = await Promise.all([leader, ...others]);
    expect(first.headers.get("set-cookie")).toBe("sid=leader-secret");
    for (const response of rest) expect(response.headers.get("set-cookie")).toBe("sid=someone-else");
    expect(await origin.hits()).toBe(5);
    await Promise.all([first, ...rest].map((r) => r.text()));
    await settle();
  });

  describe.each([{ policy: "default", cache: {} }, { policy: "strip_set_cookie", cache: { strip_set_cookie: true } }])("a 304 with Set-Cookie ($policy)", ({ cache }) => {
    it("gives the cookie to the revalidating client only, never to waiters or later hits", async () => {
      const { origin, clock, start, waiters, until, settle } = await racingSite(cacheable({ etag: '"v1"', "cache-control": "max-age=1" }), { ...cache, stale_if_error_seconds: 0 });
      await (await start(get("/rev"))).text();
      clock.advance(2_000);
      await origin.behave({
        kind: "sequence",
        steps: [
          { kind: "held", then: { kind: "conditional", notModified: { headers: { etag: '"v1"', "cache-control": "max-age=60", "set-cookie": "sid=leader-secret" } }, otherwise: cacheable() } },
          { kind: "conditional", notModified: { headers: { etag: '"v1"', "cache-control": "max-age=60", "set-cookie": "sid=someone-else" } }, otherwise: cacheable() },
        ],
      });
      const leader = start(get("/rev"));
      await until(async () => (await origin.hits()) === 2, "the revalidation");
      const others = Array.from({ length: 4 }, () => start(get("/rev")));
      await until(() => waiters() === 4, "4 waiters");
      await origin.release();
      const [first, ...rest] = await Promise.all([leader, ...others]);
      expect(first.status).toBe(200);
      expect(cacheStatus(first)).toContain("fwd-status=304");
      expect(first.headers.getSetCookie()).toEqual(["sid=leader-secret"]);
      expect(await first.text()).toBe(BODY);
      for (const response of rest) {
        expect(response.status).toBe(200);
        expect(response.headers.getSetCookie()).not.toContain("sid=leader-secret");
        expect(await response.text()).toBe(BODY);
      }
      await settle();
      const later = await start(get("/rev"));
      expect(later.headers.getSetCookie()).not.toContain("sid=leader-secret");
      await later.text();
      await settle();
    });
  });
});

describe("a revalidation's 304", () => {
  it("is not shared with waiters when it makes the entry private: each asks for itself", async () => {
    const { origin, clock, start, waiters, until, settle } = await racingSite(cacheable({ etag: '"v1"', "cache-control": "max-age=1" }), { stale_if_error_seconds: 0 });
    await (await start(get("/private"))).text();
    clock.advance(2_000);
    const privateNotModified: OriginBehavior = { kind: "conditional", notModified: { headers: { etag: '"v1"', "cache-control": "private, max-age=60" } }, otherwise: cacheable() };
    await origin.behave({ kind: "sequence", steps: [{ kind: "held", then: privateNotModified }, privateNotModified] });
    const leader = start(get("/private"));
    await until(async () => (await origin.hits()) === 2, "the revalidation");
    const others = Array.from({ length: 3 }, () => start(get("/private")));
    await until(() => waiters() === 3, "3 waiters");
    await origin.release();
    for (const response of await Promise.all([leader, ...others])) {
      expect(cacheStatus(response)).toBe("Outpost; fwd=stale; fwd-status=304; ttl=-1");
      expect(await response.text()).toBe(BODY);
    }
    expect(await origin.hits()).toBe(2 + 3);
    await settle();
  });
});

describe("waiters are bounded and answered once", () => {
  it("answers every waiter of a stalled fill within the route deadline, and the origin is asked once", async () => {
    const { origin, clock, deps, start, waiters, until, settle } = await racingSite({ kind: "broken-body", headers: { "cache-control": "max-age=60" }, firstChunk: "partial", declaredLength: 1_000, end: "stall" });
    const leader = await start(get("/stall"));
    expect(leader.status).toBe(200);
    const others = Array.from({ length: 8 }, () => start(get("/stall")));
    await until(() => waiters() === 8, "8 waiters");
    clock.advance(DEADLINE_MS - 1);
    expect(waiters()).toBe(8);
    clock.advance(1);
    const answered = await Promise.all(others);
    for (const response of answered) {
      expect(response.status).toBe(504);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("origin_timeout");
    }
    expect(deps.cacheState.inflight.size).toBe(0);
    expect(await origin.hits()).toBe(1);
    await leader.body?.cancel();
    await settle();
  });

  it("gives waiters of a stalled fill their stale copy when stale-if-error allows", async () => {
    const { origin, clock, start, waiters, until, settle } = await racingSite(cacheable({ "cache-control": "max-age=1, stale-if-error=600" }));
    await (await start(get("/stale"))).text();
    clock.advance(2_000);
    await origin.behave({ kind: "broken-body", headers: { "cache-control": "max-age=60" }, firstChunk: "partial", declaredLength: 1_000, end: "stall" });
    const leader = await start(get("/stale"));
    const others = Array.from({ length: 5 }, () => start(get("/stale")));
    await until(() => waiters() === 5, "5 waiters");
    clock.advance(DEADLINE_MS);
    for (const response of await Promise.all(others)) {
      expect(response.status).toBe(200);
      expect(cacheStatus(response)).toContain("detail=stale-if-error");
      expect(await response.text()).toBe(BODY);
    }
    expect(await origin.hits()).toBe(2);
    await leader.body?.cancel();
    await settle();
  });

  it("answers the waiters of a fill whose body breaks off once, with a 502", async () => {
    const { origin, start, waiters, until, settle } = await racingSite({
      kind: "held",
      then: { kind: "broken-body", headers: { "cache-control": "max-age=60" }, firstChunk: "partial", declaredLength: 1_000, end: "reset" },
    });
    const leader = start(get("/reset"));
    await until(async () => (await origin.hits()) === 1, "the leader");
    const others = Array.from({ length: 6 }, () => start(get("/reset")));
    await until(() => waiters() === 6, "6 waiters");
    await origin.release();
    await (await leader).text().catch(() => "broken");
    for (const response of await Promise.all(others)) {
      expect(response.status).toBe(502);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    expect(await origin.hits()).toBe(1);
    await settle();
  });

  it("answers the waiters of a failed fill once (a 5xx), each with its stale copy", async () => {
    const { origin, clock, start, waiters, until, settle } = await racingSite(cacheable({ "cache-control": "max-age=1, stale-if-error=600" }), {}, { retry_on_statuses: [] });
    await (await start(get("/fails"))).text();
    clock.advance(2_000);
    const failing: OriginBehavior = { kind: "fixed", status: 503, headers: { "cache-control": "no-store" }, body: "down" };
    await origin.behave({ kind: "sequence", steps: [{ kind: "held", then: failing }, failing] });
    const leader = start(get("/fails"));
    await until(async () => (await origin.hits()) === 2, "the leader");
    const others = Array.from({ length: 4 }, () => start(get("/fails")));
    await until(() => waiters() === 4, "4 waiters");
    await origin.release();
    for (const response of await Promise.all([leader, ...others])) {
      expect(response.status).toBe(200);
      expect(cacheStatus(response)).toContain("stale-if-error");
      expect(await response.text()).toBe(BODY);
    }
    expect(await origin.hits()).toBe(2);
    await settle();
  });

  it.each([
    { failure: "a 503", failing: { kind: "fixed", status: 503, headers: { "cache-control": "no-store" }, body: "down" } as OriginBehavior },
    { failure: "a reset connection", failing: { kind: "reset" } as OriginBehavior },
  ])("answers the waiters of a failed fill ($failure) once, with a 502 when nothing stale is stored", async ({ failing }) => {
    const { origin, start, waiters, until, settle } = await racingSite({ kind: "sequence", steps: [{ kind: "held", then: failing }, failing] }, {}, { retry_on_statuses: [] });
    const leader = start(get("/down"));
    await until(async () => (await origin.hits()) === 1, "the leader");
    const others = Array.from({ length: 4 }, () => start(get("/down")));
    await until(() => waiters() === 4, "4 waiters");
    await origin.release();
    const [first, ...rest] = await Promise.all([leader, ...others]);
    expect(first.status).toBe(failing.kind === "reset" ? 502 : 503);
    await first.text();
    for (const response of rest) {
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("origin_unreachable");
    }
    expect(await origin.hits()).toBe(1);
    await settle();
  });

  it("keeps the fill going when its leader disconnects, for the waiters and the cache", async () => {
    const { origin, start, waiters, until, settle } = await racingSite({ kind: "held", then: cacheable() });
    const leaving = new AbortController();
    const leader = start(get("/leave", {}, { signal: leaving.signal }));
    await until(async () => (await origin.hits()) === 1, "the leader");
    const others = Array.from({ length: 5 }, () => start(get("/leave")));
    await until(() => waiters() === 5, "5 waiters");
    leaving.abort();
    await origin.release();
    for (const response of await Promise.all(others)) {
      expect(response.status).toBe(200);
      expect(cacheStatus(response)).toContain("collapsed");
      expect(await response.text()).toBe(BODY);
    }
    await (await leader.catch(() => undefined))?.body?.cancel();
    await settle();
    const later = await start(get("/leave"));
    expect(cacheStatus(later)).toContain("hit");
    await later.text();
    expect(await origin.hits()).toBe(1);
    await settle();
  });
});

describe("who shares a fill", () => {
  it("never collapses an authenticated request into another client's fill", async () => {
    const { origin, start, waiters, until, settle } = await racingSite({ kind: "held", then: { kind: "echo", headers: { "cache-control": "public, max-age=60" } } });
    const anonymous = start(get("/account"));
    await until(async () => (await origin.hits()) === 1, "the anonymous leader");
    const authenticated = start(get("/account", { authorization: "Bearer token-of-b" }));
    const waiter = start(get("/account"));
    // Both are either waiting for the fill or at the origin before it answers.
    await until(async () => waiters() + (await origin.hits()) - 1 === 2, "both requests to wait or reach the origin");
    await origin.release();
    const [a, b, c] = await Promise.all([anonymous, authenticated, waiter]);
    const [aBody, bBody, cBody] = (await Promise.all([a.json(), b.json(), c.json()])) as [EchoBody, EchoBody, EchoBody];
    expect(bBody.headers.authorization).toBe("Bearer token-of-b");
    expect(cacheStatus(b)).not.toContain("collapsed");
    expect(aBody.headers.authorization).toBeUndefined();
    expect(cBody.n).toBe(aBody.n);
    expect(cacheStatus(c)).toContain("collapsed");
    expect(await origin.hits()).toBe(2);
    await settle();
  });

  it("shares a Vary'd fill only with waiters of the same variant; the others fetch their own", async () => {
    const echoVary: OriginBehavior = { kind: "echo", headers: { "cache-control": "max-age=60", vary: "Accept-Language" } };
    const { origin, start, waiters, until, settle } = await racingSite({ kind: "sequence", steps: [{ kind: "held", then: echoVary }, echoVary] });
    const leader = start(get("/v", { "accept-language": "en" }));
    await until(async () => (await origin.hits()) === 1, "the leader");
    const languages = ["en", "fr", "en", "de", "en"];
    const others = languages.map((language) => start(get("/v", { "accept-language": language })));
    await until(() => waiters() === 5, "5 waiters");
    await origin.release();
    const responses = await Promise.all([leader, ...others]);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as EchoBody[];
    ["en", ...languages].forEach((language, i) => {
      expect(responses[i]!.status).toBe(200);
      expect(bodies[i]!.headers["accept-language"]).toBe(language);
      expect(responses[i]!.headers.get("set-cookie")).toBeNull();
    });
    expect(await origin.hits()).toBe(3);
    await settle();
  });

  it("answers a request whose lookup ended after the fill it missed had completed from that fill's copy", async () => {
    // The real KV, with reads held while `gate` is set: a slow storage read (KV's cold reads take
    // tens of milliseconds) during which another request's fill completes.
    let gate: Promise<void> | undefined;
    const slowReads = new Proxy(env.OUTPOST_CACHE, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (typeof value !== "function") return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        return String(property).startsWith("get") ? async (...args: unknown[]) => (await gate, bound(...args)) : bound;
      },
    });
    const { origin, start, until, deps, settle } = await racingSite({ kind: "held", then: cacheable() }, {}, {}, { OUTPOST_CACHE: slowReads });
    const leader = start(get("/late"));
    await until(async () => (await origin.hits()) === 1, "the leader to reach the origin");
    let openGate!: () => void;
    gate = new Promise((resolve) => (openGate = resolve));
    const late = start(get("/late")); // its KV read waits at the gate
    await new Promise((resolve) => setTimeout(resolve, 20));
    await origin.release();
    expect(await (await leader).text()).toBe(BODY);
    await until(() => deps.cacheState.inflight.size === 0, "the fill to complete");
    openGate();
    const answer = await late;
    expect(await answer.text()).toBe(BODY);
    expect(cacheStatus(answer)).toContain("collapsed");
    expect(await origin.hits()).toBe(1);
    await settle();
  });
});

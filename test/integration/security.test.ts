// The security catalogue: one describe per attack class, each test named after the attack it
// stops. Everything runs in workerd against real origin servers that count and record requests, so
// each test checks what the victim received and what the origin saw. Behaviours tested elsewhere are
// referenced where they belong, so this file is the one place to find every attack class.
//
// Tests whose comment starts "Once a bug" reproduce a vulnerability this catalogue found; they failed
// before the fix named in the commit that un-skipped them.
import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type EchoBody, type OriginBehavior, type TestOrigin } from "../helpers/origins.ts";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { createApp, createDeps } from "../../src/app.ts";
import { createTestWorker, siteConfig, TestClock, testEnv } from "../helpers/worker.ts";

type RouteSettings = Partial<OutpostConfigInput["routes"][number]>;
type CacheSettings = NonNullable<RouteSettings["cache"]>;

/** One origin behind a catch-all route, with this test's own cache_version. */
async function site(behavior: OriginBehavior, cache: CacheSettings = {}, route: RouteSettings = {}, address?: (origin: TestOrigin) => string) {
  const origin = await createOrigin("origin", behavior);
  const config = {
    ...siteConfig([{ name: "main", origins: [{ name: "origin", address: address ? address(origin) : origin.url }] }], { ...route, cache }),
    cache_version: crypto.randomUUID().slice(0, 8),
  };
  return { origin, worker: createTestWorker(testEnv({ OUTPOST: config })) };
}

const get = (path: string, headers: Record<string, string> = {}) => new Request(`https://www.example.com${path}`, { headers });
const echo = (cacheControl: string | undefined, extra: Record<string, string> = {}): OriginBehavior => ({
  kind: "echo",
  headers: { ...(cacheControl === undefined ? {} : { "cache-control": cacheControl }), ...extra },
});
const cacheStatus = (response: Response) => response.headers.get("cache-status") ?? "";
const echoOf = async (response: Response) => (await response.json()) as EchoBody;

const VICTIM = { cookie: "session=victim-secret" };
const ATTACKER = { cookie: "session=attacker" };

describe("web cache deception: a personal page requested under a static-looking URL", () => {
  // The victim is lured to /account/x.css; the origin ignores the suffix and answers the account
  // page. The attacker then requests the same URL and must not receive the victim's page.
  it.each([
    ["Cache-Control: private", echo("private, max-age=600")],
    ["Set-Cookie (even with max-age)", echo("max-age=600", { "set-cookie": "session=rotated; HttpOnly" })],
    ["no explicit freshness and no validator", echo(undefined)],
  ])("does not serve the victim's page to the attacker when the origin sends %s", async (_case, behavior) => {
    const { origin, worker } = await site(behavior);
    const victim = await worker.fetch(get("/account/x.css", VICTIM));
    expect(cacheStatus(victim)).not.toContain("stored");
    expect((await echoOf(victim)).headers.cookie).toBe(VICTIM.cookie);

    const attacker = await worker.fetch(get("/account/x.css", ATTACKER));
    expect(cacheStatus(attacker)).not.toContain("hit");
    expect((await echoOf(attacker)).headers.cookie).toBe(ATTACKER.cookie);
    expect(await origin.hits()).toBe(2);
  });

  it("sends the attacker's request to the origin, unconditionally, when the personal page carries only an ETag", async () => {
    // No freshness and a cookie on the request: not stored at all, so no victim's validator is ever
    // sent on the attacker's behalf (a 304 from a careless origin would hand over the victim's page).
    const { origin, worker } = await site(echo(undefined, { etag: '"account-v1"' }));
    await (await worker.fetch(get("/account/x.css", VICTIM))).text();
    const attacker = await worker.fetch(get("/account/x.css", ATTACKER));
    expect((await echoOf(attacker)).headers.cookie).toBe(ATTACKER.cookie);
    expect(await origin.hits()).toBe(2);
    expect((await origin.requests())[1]?.headers["if-none-match"]).toBeUndefined();
  });

  // Once a bug: heuristic freshness (RFC 9111 §4.2.2) applied to answers to requests with cookies,
  // so a personal page with Last-Modified and no Cache-Control was shared.
  it("does not heuristically cache a personal page that has Last-Modified but no explicit freshness", async () => {
    const { origin, worker } = await site(echo(undefined, { "last-modified": "Sat, 01 Nov 2025 00:00:00 GMT" }));
    await (await worker.fetch(get("/account/x.css", VICTIM))).text();
    const attacker = await worker.fetch(get("/account/x.css", ATTACKER));
    expect((await echoOf(attacker)).headers.cookie).toBe(ATTACKER.cookie);
    expect(await origin.hits()).toBe(2);
  });

  it.each(["/account/x.css", "/account;x.css", "/account%2Fx.css", "/account%2fx.css", "/account/..%2Fx.css", "/account/%2e%2e/account;x.css"])(
    "forwards the confused path %s exactly as it is keyed, and keeps its private answer from other visitors",
    async (path) => {
      const { origin, worker } = await site(echo("private"));
      const victim = await worker.fetch(get(path, VICTIM));
      const keyedPath = new URL(`https://www.example.com${path}`).pathname;
      expect((await echoOf(victim)).url).toBe(keyedPath);
      const attacker = await worker.fetch(get(path, ATTACKER));
      expect((await echoOf(attacker)).headers.cookie).toBe(ATTACKER.cookie);
      expect(await origin.hits()).toBe(2);
    },
  );

  it("resolves dot segments before matching routes, so /static/../account is not served under a /static/* edge TTL", async () => {
    const origin = await createOrigin("origin", echo(undefined));
    const pools = [{ name: "main", origins: [{ name: "origin", address: origin.url }] }];
    const config: OutpostConfigInput = {
      cache_version: crypto.randomUUID().slice(0, 8),
      pools,
      routes: [
        { name: "static", path: "/static/*", default_pools: ["main"], cache: { edge_ttl_seconds: 3600 } },
        { name: "site", default_pools: ["main"] },
      ],
    };
    const worker = createTestWorker(testEnv({ OUTPOST: config }));
    const victim = await worker.fetch(get("/static/%2e%2e/account", VICTIM));
    expect(victim.headers.get("outpost-upstream")).toContain('route="site"');
    expect((await echoOf(victim)).url).toBe("/account");
    await (await worker.fetch(get("/static/../account", ATTACKER))).text();
    expect(await origin.hits()).toBe(2);
    // An encoded slash is not a separator: it stays under /static/* and reaches the origin as
    // keyed. An origin that decodes %2F before routing would serve /account there (see the report).
    const encoded = await worker.fetch(get("/static/..%2Faccount"));
    expect(encoded.headers.get("outpost-upstream")).toContain('route="static"');
    expect((await echoOf(encoded)).url).toBe("/static/..%2Faccount");
  });
});

describe("cache poisoning through unkeyed inputs", () => {
  // X-Original-URL, X-Rewrite-URL, X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override are
  // dropped from cache fills: test/integration/cache.test.ts, "cache poisoning through unkeyed headers".

  it.each([
    ["x-forwarded-host", "evil.example", "www.example.com"],
    ["x-forwarded-proto", "http", "https"],
  ])("replaces a client's %s, so the poisoned value never reaches the origin or the stored page", async (name, attack, expected) => {
    const { origin, worker } = await site(echo("max-age=60"));
    const first = await worker.fetch(get("/home", { [name]: attack }));
    expect(cacheStatus(first)).toContain("stored");
    expect((await echoOf(first)).headers[name]).toBe(expected);
    expect((await origin.requests())[0]?.headers[name]).toBe(expected);

    const clean = await worker.fetch(get("/home"));
    expect(cacheStatus(clean)).toContain("hit");
    const body = await clean.text();
    expect(body).not.toContain(attack === "http" ? '"http"' : attack);
    expect((JSON.parse(body) as EchoBody).headers[name]).toBe(expected);
    expect(await origin.hits()).toBe(1);
  });

  // Once a bug: these fields reached the origin on fills. Origins and frameworks build absolute URLs
  // and redirects from them (Rails/Rack X-Forwarded-Scheme, Spring/Traefik X-Forwarded-Prefix/Port,
  // RFC 7239 Forwarded), so one request could store a poisoned page for every visitor.
  it.each([
    ["x-forwarded-scheme", "http"],
    ["x-forwarded-port", "8080"],
    ["x-forwarded-prefix", "/evil"],
    ["x-forwarded-server", "evil.example"],
    ["x-host", "evil.example"],
    ["forwarded", "for=1.2.3.4;host=evil.example;proto=http"],
  ])("does not let a client's %s reach the origin on a cache fill", async (name, attack) => {
    const { origin, worker } = await site(echo("max-age=60"));
    await (await worker.fetch(get("/home", { [name]: attack }))).text();
    expect((await origin.requests())[0]?.headers[name]).toBeUndefined();
    const clean = await worker.fetch(get("/home"));
    expect(cacheStatus(clean)).toContain("hit");
    expect((JSON.parse(await clean.text()) as EchoBody).headers[name]).toBeUndefined();
    expect(await origin.hits()).toBe(1);
  });

  // Once a bug: parameters the key leaves out still reached the origin on a fill, so an origin that
  // reflects one stored the attacker's value under the clean URL's key.
  it.each([
    ["a tracking parameter", {}, "utm_content"],
    ["a denied parameter", { query: { deny: ["ref"] } }, "ref"],
    ["a parameter outside allow", { query: { allow: ["page"] } }, "callback"],
  ])("does not store an answer that reflects %s the key ignores", async (_case, cache: CacheSettings, name) => {
    const { origin, worker } = await site(echo("max-age=60"), cache);
    await (await worker.fetch(get(`/home?${name}=%3Cscript%3Ealert(1)%3C/script%3E`))).text();
    const clean = await worker.fetch(get("/home"));
    expect(cacheStatus(clean)).toContain("hit");
    expect(await clean.text()).not.toContain("script");
    expect((await origin.requests())[0]?.url).toBe("/home");
  });

  it("keys requests for another host apart: an absolute-form request never fills the configured host's entry", async () => {
    const { origin, worker } = await site(echo("max-age=60"));
    await (await worker.fetch(new Request("http://evil.example/home"))).text();
    const victim = await worker.fetch(get("/home"));
    expect(cacheStatus(victim)).toContain("fwd=miss");
    expect((await echoOf(victim)).headers["x-forwarded-host"]).toBe("www.example.com");
    expect(await origin.hits()).toBe(2);
  });

  it("never answers an authenticated request from another visitor's authenticated fill", async () => {
    // A shared answer to an authenticated request may be stored when the origin says public (RFC 9111
    // §3.5), but a second authenticated visitor always reaches the origin with their own credentials.
    const { origin, worker } = await site(echo("public, max-age=60"));
    await (await worker.fetch(get("/me", { authorization: "Bearer alice" }))).text();
    const bob = await worker.fetch(get("/me", { authorization: "Bearer bob" }));
    expect((await echoOf(bob)).headers.authorization).toBe("Bearer bob");
    expect(await origin.hits()).toBe(2);
  });
});

describe("responses that are never stored", () => {
  // Set-Cookie, private, no-store and answers to Authorization requests: test/integration/cache.test.ts,
  // "what is never stored". Here: the variants an origin (or attacker) can dress them in.
  it.each([
    ["Vary: *", echo("max-age=60", { vary: "*" })],
    ["Vary listing * among other fields", echo("max-age=60", { vary: "Accept-Language, *" })],
    ["Set-Cookie with public and s-maxage", echo("public, s-maxage=60", { "set-cookie": "id=1" })],
    ["PRIVATE in capitals", echo("PRIVATE, MAX-AGE=60")],
    ['private="set-cookie" naming a field', echo('private="set-cookie", max-age=60', { "set-cookie": "id=1" })],
    ["no-store after max-age", echo("max-age=60, no-store")],
    ["no-store in CDN-Cache-Control", echo("max-age=60", { "cdn-cache-control": "no-store" })],
  ])("does not store a response with %s: the second request reaches the origin", async (_case, behavior) => {
    const { origin, worker } = await site(behavior);
    const first = await worker.fetch(get("/page"));
    expect(cacheStatus(first)).not.toContain("stored");
    await first.text();
    const second = await worker.fetch(get("/page"));
    expect(cacheStatus(second)).not.toContain("hit");
    expect((await echoOf(second)).n).toBe(2);
    expect(await origin.hits()).toBe(2);
  });

  // Once a bug: the runtime joins several Cookie fields with ", ", and the parser split only on ";".
  it("bypasses the cache for a configured cookie sent in a second Cookie field", async () => {
    const { origin, worker } = await site(echo("max-age=60"), { bypass_cookies: ["session"] });
    await (await worker.fetch(get("/dashboard"))).text();
    const headers = new Headers([["cookie", "theme=dark"], ["cookie", "session=abc"]]);
    const loggedIn = await worker.fetch(new Request("https://www.example.com/dashboard", { headers }));
    expect(cacheStatus(loggedIn)).toBe("Outpost; fwd=bypass; detail=cookie");
    expect(await origin.hits()).toBe(2);
  });
});

describe("request-controlled upstream (SSRF)", () => {
  // A request matching no route is refused without contacting any origin, and absolute URLs in
  // X-Forwarded-Host / X-Original-URL change nothing: test/integration/routing-errors.test.ts,
  // "requests Outpost cannot forward". The upstream URL and Host for any target, as properties:
  // test/unit/origin/build-upstream-request.property.test.ts.

  it.each([
    ["an absolute-form target naming the metadata service", "http://169.254.169.254/latest/meta-data/", "/latest/meta-data/"],
    ["an absolute-form target naming the origin's loopback", "http://127.0.0.1:1/admin", "/admin"],
    ["@ in the path", "https://www.example.com/@evil.example/x", "/@evil.example/x"],
    ["a // path", "https://www.example.com//evil.example/x", "//evil.example/x"],
    ["a backslash path", "https://www.example.com/\\evil.example/x", "//evil.example/x"],
    ["an encoded // path", "https://www.example.com/%2F%2Fevil.example/x", "/%2F%2Fevil.example/x"],
    ["credentials in the target", "https://user:pass@www.example.com/x", "/x"],
  ])("sends %s to the configured origin only", async (_case, target, expectedPath) => {
    const { origin, worker } = await site(echo(undefined));
    const response = await worker.fetch(new Request(target));
    expect(response.status).toBe(200);
    const seen = await echoOf(response);
    expect(seen.url).toBe(expectedPath);
    expect(seen.headers.host).toBe(new URL(origin.url).host);
    expect(seen.headers.authorization).toBeUndefined();
    expect(await origin.hits()).toBe(1);
  });

  it("ignores a Host header that points elsewhere", async () => {
    const { origin, worker } = await site(echo(undefined));
    const response = await worker.fetch(get("/x", { host: "169.254.169.254" }));
    const seen = await echoOf(response);
    expect(seen.headers.host).toBe(new URL(origin.url).host);
    expect(seen.headers["x-forwarded-host"]).toBe("www.example.com");
    expect(await origin.hits()).toBe(1);
  });

  it.each([
    ["/../admin", "/app/admin"],
    ["/%2e%2e/admin", "/app/admin"],
    ["/..%2Fadmin", "/app/..%2Fadmin"],
    ["//admin", "/app//admin"],
  ])("keeps %s inside the origin address's base path", async (path, expected) => {
    const { origin, worker } = await site(echo(undefined), {}, {}, (o) => `${o.url}/app`);
    const response = await worker.fetch(get(path));
    expect((await echoOf(response)).url).toBe(expected);
    expect(await origin.hits()).toBe(1);
  });
});

describe("hop-by-hop headers", () => {
  // Connection-named fields both ways, Proxy-Authorization, Keep-Alive from the origin:
  // test/integration/proxy.test.ts, "strips hop-by-hop headers in both directions".

  it("does not forward the client's Keep-Alive, TE, Trailer, Upgrade, Proxy-Connection or fields named in Connection", async () => {
    const { origin, worker } = await site(echo(undefined));
    await (
      await worker.fetch(
        get("/ws", {
          connection: "Upgrade, X-Internal-Token",
          "x-internal-token": "secret",
          "keep-alive": "timeout=600",
          te: "trailers, deflate",
          trailer: "x-checksum",
          // Any upgrade but WebSocket's (which is passed through on purpose: websocket.test.ts).
          upgrade: "h2c",
          "proxy-connection": "keep-alive",
          "proxy-authorization": "Basic Zm9vOmJhcg==",
        }),
      )
    ).text();
    const [seen] = await origin.requests();
    const sent = seen!.rawHeaders.filter((_, index) => index % 2 === 0).map((name) => name.toLowerCase());
    for (const name of ["x-internal-token", "keep-alive", "te", "trailer", "upgrade", "proxy-connection", "proxy-authorization"]) expect(sent).not.toContain(name);
    expect(seen!.headers.connection ?? "").not.toMatch(/upgrade|x-internal-token/i);
  });

  // Outpost drops the client's Transfer-Encoding and the runtime frames the upstream body itself.
  it("frames the upstream body itself: a client's Transfer-Encoding cannot smuggle a second request", async () => {
    const { origin, worker } = await site(echo(undefined));
    const smuggled = "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
    const response = await worker.fetch(new Request("https://www.example.com/upload", { method: "POST", body: smuggled, headers: { "transfer-encoding": "chunked" } }));
    const seen = await echoOf(response);
    expect(seen.method).toBe("POST");
    expect(seen.bodyBytes).toBe(smuggled.length);
    expect(seen.headers["transfer-encoding"]).toBeUndefined();
    expect(await origin.hits()).toBe(1);
    expect((await origin.requests()).map((r) => r.url)).toEqual(["/upload"]);
  });

  it("neither delivers nor stores the origin's hop-by-hop fields", async () => {
    const { origin, worker } = await site({
      kind: "fixed",
      status: 200,
      headers: { "cache-control": "max-age=60", connection: "X-Backend-Secret", "x-backend-secret": "db=10.0.0.7", "keep-alive": "timeout=5", "proxy-authenticate": "Basic", trailer: "x-checksum", upgrade: "h2c" },
      body: "page",
    });
    const responses = [await worker.fetch(get("/page")), await worker.fetch(get("/page"))];
    expect(cacheStatus(responses[1]!)).toContain("hit");
    for (const response of responses) {
      for (const name of ["connection", "x-backend-secret", "keep-alive", "proxy-authenticate", "trailer", "upgrade"]) expect(response.headers.get(name)).toBeNull();
      expect(await response.text()).toBe("page");
    }
    expect(await origin.hits()).toBe(1);
  });
});

describe("oversized request headers", () => {
  // In production Cloudflare's edge rejects oversized request heads before the worker runs; here the
  // worker gets them and the test origin (Node, 16 KiB limit) refuses them with 431.
  it("passes the origin's 431 on for a 64 KiB header value, never a 500", async () => {
    const { origin, worker } = await site(echo("max-age=60"));
    const response = await worker.fetch(get("/big", { "x-big": "a".repeat(64 * 1024) }));
    expect(response.status).toBe(431);
    expect(cacheStatus(response)).toBe("Outpost; fwd=miss; fwd-status=431; detail=status");
    // Node closes the connection after its 431 while the request is still being written; the
    // (empty) body may then end in a connection error, as it does for a direct fetch.
    await response.body?.cancel();
    expect(await origin.hits()).toBe(0);
  });

  it("passes the origin's 431 on for 2,000 header fields, never a 500", async () => {
    const { worker } = await site(echo("max-age=60"));
    const headers = new Headers();
    for (let i = 0; i < 2000; i += 1) headers.append(`x-field-${i}`, "v");
    const response = await worker.fetch(new Request("https://www.example.com/many", { headers }));
    expect(response.status).toBe(431);
    expect(cacheStatus(response)).toContain("fwd-status=431");
    await response.body?.cancel();
  });

  it("answers a request with an oversized header from the cache when the page is stored", async () => {
    const { origin, worker } = await site(echo("max-age=60"));
    await (await worker.fetch(get("/cached"))).text();
    const response = await worker.fetch(get("/cached", { "x-big": "a".repeat(256 * 1024), cookie: `c=${"b".repeat(64 * 1024)}` }));
    expect(response.status).toBe(200);
    expect(cacheStatus(response)).toContain("hit");
    expect((await echoOf(response)).n).toBe(1);
    expect(await origin.hits()).toBe(1);
  });

  it("keys a route by an oversized header value without failing (the key is hashed)", async () => {
    const { origin, worker } = await site(echo("max-age=60"), { key: { headers: ["x-device"] } });
    const big = { "x-device": "d".repeat(10_000) };
    const first = await worker.fetch(get("/keyed", big));
    expect(first.status).toBe(200);
    await first.body?.cancel();
    const second = await worker.fetch(get("/keyed", big));
    expect(cacheStatus(second)).toContain("hit");
    await second.body?.cancel();
    expect(await origin.hits()).toBe(1);
  });
});

describe("CPU exhaustion through hostile request headers (ReDoS)", () => {
  // Workers cap and bill CPU time per request (10 ms on the free plan): reading a request header must
  // stay linear in its size. This is a guard against super-linear parsing, not a speed measurement:
  // the bound is far above a normal hit (milliseconds) and far below a quadratic parse (seconds).
  const BUDGET_MS = 1_000;
  const SIZE = 32 * 1024;

  async function timedHit(name: string, value: string) {
    const { origin, worker } = await site(echo("max-age=60", { etag: '"v1"', "last-modified": "Sat, 01 Nov 2025 00:00:00 GMT" }), { request_cache_control: "honor", bypass_cookies: ["session"] });
    await (await worker.fetch(get("/page"))).text();
    const startedAt = performance.now();
    const response = await worker.fetch(get("/page", { [name]: value }));
    const elapsedMs = performance.now() - startedAt;
    await response.body?.cancel();
    return { response, elapsedMs, origin };
  }

  it.each([
    ["If-None-Match full of quotes", "if-none-match", `${'"'.repeat(SIZE)}x`],
    ["If-Modified-Since full of spaces", "if-modified-since", `${" ".repeat(SIZE)}x`],
    ["If-Range full of spaces", "if-range", `${" ".repeat(SIZE)}x`],
    ["Cache-Control full of escapes", "cache-control", `max-stale="${"\\".repeat(SIZE)}`],
    ["Cookie full of separators", "cookie", `a=${";=".repeat(SIZE / 2)}`],
    ["Range of digits", "range", `bytes=${"1".repeat(SIZE)}-x`],
  ])("answers a cached page carrying a 32 KiB %s within the CPU budget", async (_case, name, value) => {
    const { response, elapsedMs, origin } = await timedHit(name, value);
    expect(cacheStatus(response)).toContain("hit");
    expect(elapsedMs).toBeLessThan(BUDGET_MS);
    expect(await origin.hits()).toBe(1);
  });

  // Once a bug: the Range pattern backtracked quadratically (32 KiB of spaces: ~3 s of CPU per hit).
  it("answers a cached page carrying a 32 KiB Range of spaces within the CPU budget", async () => {
    const { response, elapsedMs } = await timedHit("range", `bytes=${" ".repeat(SIZE)}x`);
    expect(response.status).toBe(200);
    expect(elapsedMs).toBeLessThan(BUDGET_MS);
  });
});

describe("admin API authentication (token-protected /__outpost/*)", () => {
  // Closed without a token (404), 401 for missing, malformed and wrong tokens, a token too short to be
  // safe refused, admin paths never forwarded: test/integration/admin.test.ts, "admin authentication".
  // Constant time by construction: Hono's bearerAuth compares with timingSafeEqual, which hashes both
  // sides (SHA-256) before comparing, so the time does not depend on where the tokens differ.
  const TOKEN = "security-catalogue-token-0123456789";

  async function adminSite() {
    const origin = await createOrigin("origin", { kind: "echo" });
    const worker = createTestWorker(testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }]), OUTPOST_ADMIN_TOKEN: TOKEN }));
    return { origin, worker };
  }

  it("never accepts the token from the query string or a cookie", async () => {
    const { origin, worker } = await adminSite();
    for (const request of [
      new Request(`https://www.example.com/__outpost/status?token=${TOKEN}`),
      new Request(`https://www.example.com/__outpost/status?authorization=Bearer%20${TOKEN}`),
      new Request("https://www.example.com/__outpost/status", { headers: { cookie: `token=${TOKEN}` } }),
    ]) {
      expect((await worker.fetch(request)).status).toBe(401);
    }
    expect(await origin.hits()).toBe(0);
  });

  it("refuses a purge without the token and leaves the cache untouched", async () => {
    const { origin, worker } = await adminSite();
    await (await worker.fetch(new Request("https://www.example.com/page"))).text();
    const purge = await worker.fetch(new Request("https://www.example.com/__outpost/purge", { method: "POST", body: '{"purge_everything":true}' }));
    expect(purge.status).toBe(401);
    expect(await origin.hits()).toBe(1);
  });

  it("keeps admin-looking paths with other spellings away from the admin API and the token", async () => {
    const { origin, worker } = await adminSite();
    // Not the prefix: ordinary paths, proxied without the admin token ever being involved.
    for (const path of ["/__outpostx/status", "/x/__outpost/status"]) {
      const response = await worker.fetch(new Request(`https://www.example.com${path}`, { headers: { authorization: `Bearer ${TOKEN}` } }));
      expect(response.headers.get("outpost-upstream")).toContain('origin="origin"');
      await response.text();
    }
    expect(await origin.hits()).toBe(2);
  });
});

describe("cache poisoning through ambiguous key dimensions", () => {
  // Once a bug: the key took the first of two `lang` cookies while the origin may read the last, so
  // `lang=en; lang="><script>"` stored the script under lang=en for every English visitor.
  it.each([
    ["two pairs in one Cookie field", 'lang=en; lang="><script>"'],
    ["two Cookie fields (joined by the runtime)", 'lang=en, lang="><script>"'],
    ["names that differ only in case", 'lang=en; LANG="><script>"'],
  ])("neither stores nor serves from the cache a request with a keyed cookie sent twice: %s", async (_case, cookie) => {
    const { origin, worker } = await site(echo("max-age=600"), { key: { cookies: ["lang"] } });
    const attack = await worker.fetch(get("/home", { cookie }));
    expect(cacheStatus(attack)).toBe("Outpost; fwd=bypass; detail=ambiguous-cookie");
    await attack.text();

    const victim = await worker.fetch(get("/home", { cookie: "lang=en" }));
    expect(cacheStatus(victim)).toContain("fwd=miss");
    expect((await echoOf(victim)).headers.cookie).toBe("lang=en");
    // ... and the victim's stored entry is not served to the next ambiguous request either.
    const again = await worker.fetch(get("/home", { cookie }));
    expect(cacheStatus(again)).toContain("fwd=bypass");
    expect((await echoOf(again)).headers.cookie).not.toBe("lang=en");
    expect(await origin.hits()).toBe(3);
  });

  it("keys a keyed header sent twice by its whole value, so it never reaches the single value's entry", async () => {
    const { origin, worker } = await site(echo("max-age=600"), { key: { headers: ["x-lang"] } });
    const twice = new Headers();
    twice.append("x-lang", "en");
    twice.append("x-lang", "<script>");
    await (await worker.fetch(new Request("https://www.example.com/home", { headers: twice }))).text();
    const victim = await worker.fetch(get("/home", { "x-lang": "en" }));
    expect(cacheStatus(victim)).toContain("fwd=miss");
    expect(await victim.text()).not.toContain("script");
    expect(await origin.hits()).toBe(2);
  });
});

describe("Vary matching (RFC 9111 §4.1)", () => {
  // Once a bug: variant values were compared case-insensitively, so `Vary: Cookie` served one
  // visitor's page to another whose session token differed only in case.
  it("does not serve the variant of sid=SeCrEtToKeN42 to sid=secrettoken42", async () => {
    const { origin, worker } = await site(echo("max-age=600", { vary: "Cookie" }));
    await (await worker.fetch(get("/me", { cookie: "sid=SeCrEtToKeN42" }))).text();
    const other = await worker.fetch(get("/me", { cookie: "sid=secrettoken42" }));
    expect(cacheStatus(other)).toContain("fwd=vary-miss");
    expect((await echoOf(other)).headers.cookie).toBe("sid=secrettoken42");
    const same = await worker.fetch(get("/me", { cookie: "sid=SeCrEtToKeN42" }));
    expect(cacheStatus(same)).toContain("hit");
    expect(await origin.hits()).toBe(2);
  });

  it("never hands a collapsed waiter the leader's answer when their Cookie differs only in case", async () => {
    const answer = echo("max-age=600", { vary: "Cookie" });
    const origin = await createOrigin("origin", { kind: "sequence", steps: [{ kind: "held", then: answer }, answer] });
    const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }]), cache_version: crypto.randomUUID().slice(0, 8) };
    const workerEnv = testEnv({ OUTPOST: config });
    const app = createApp(createDeps(new TestClock(), () => 0, () => 1));
    const ctx = createExecutionContext();
    const leader = app.fetch(get("/me", { cookie: "sid=SeCrEtToKeN42" }), workerEnv, ctx);
    while ((await origin.hits()) < 1); // the leader's fill is at the origin (each check is a request, not a sleep)
    const waiter = app.fetch(get("/me", { cookie: "sid=secrettoken42" }), workerEnv, ctx);
    await origin.release();
    const [led, waited] = await Promise.all([leader, waiter]);
    expect((await echoOf(led)).headers.cookie).toBe("sid=SeCrEtToKeN42");
    expect((await echoOf(waited)).headers.cookie).toBe("sid=secrettoken42");
    await waitOnExecutionContext(ctx);
    expect(await origin.hits()).toBe(2);
  });

  it("tells an absent request header from an empty one", async () => {
    const { origin, worker } = await site(echo("max-age=600", { vary: "X-Token" }));
    await (await worker.fetch(get("/v"))).text();
    const empty = await worker.fetch(get("/v", { "x-token": "" }));
    expect(cacheStatus(empty)).toContain("fwd=vary-miss");
    await empty.text();
    expect(cacheStatus(await worker.fetch(get("/v")))).toContain("hit");
    expect(await origin.hits()).toBe(2);
  });
});

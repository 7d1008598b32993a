// The admin API: closed by default, bearer token compared in constant time, bodies and queries
// validated with the field named, never forwarded to an origin; status and explain report what the
// pipeline would do, without contacting an origin.
import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type TestOrigin } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, TestClock, testEnv } from "../helpers/worker.ts";

const TOKEN = "admin-token-for-tests-0123456789";

async function adminSite(overrides: { token?: string; config?: Partial<OutpostConfigInput> } = {}) {
  const origin = await createOrigin("origin", { kind: "echo", headers: { "cache-control": "max-age=300" } });
  const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }]), cache_version: crypto.randomUUID().slice(0, 8), ...overrides.config };
  const workerEnv = testEnv({ OUTPOST: config, OUTPOST_ADMIN_TOKEN: "token" in overrides ? overrides.token : TOKEN });
  return { origin, worker: createTestWorker(workerEnv), workerEnv };
}

const adminRequest = (path: string, init: RequestInit & { token?: string | null } = {}) => {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? TOKEN}`);
  return new Request(`https://www.example.com/__outpost${path}`, { ...init, headers });
};

async function errorCode(response: Response): Promise<string> {
  expect(response.headers.get("content-type")).toContain("application/json");
  return ((await response.json()) as { error: { code: string } }).error.code;
}

async function expectNoOriginContact(origin: TestOrigin) {
  expect(await origin.hits()).toBe(0);
}

describe("admin authentication", () => {
  it("answers 404 for every admin path when no token is configured, and never forwards them", async () => {
    const { origin, worker } = await adminSite({ token: undefined });
    for (const path of ["/", "/status", "/purge", "/anything"]) {
      const response = await worker.fetch(adminRequest(path));
      expect(response.status).toBe(404);
      expect(await errorCode(response)).toBe("admin_disabled");
    }
    await expectNoOriginContact(origin);
  });

  it("answers 401 JSON with a Bearer challenge for a missing, malformed or wrong token", async () => {
    const { origin, worker } = await adminSite();
    const attempts: Array<Record<string, string>> = [{}, { authorization: "Basic dXNlcjpwYXNz" }, { authorization: "Bearer" }, { authorization: "Bearer not the token" }];
    for (const headers of attempts) {
      const response = await worker.fetch(adminRequest("/status", { token: null, headers }));
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain("Bearer");
      expect(await errorCode(response)).toBe("unauthorized");
    }
    const wrong = await worker.fetch(adminRequest("/status", { token: `${TOKEN}x` }));
    expect(wrong.status).toBe(401);
    await expectNoOriginContact(origin);
  });

  it("refuses to open with a token too short to be safe", async () => {
    const { worker } = await adminSite({ token: "short" });
    const response = await worker.fetch(adminRequest("/status", { token: "short" }));
    expect(response.status).toBe(500);
    expect(await errorCode(response)).toBe("admin_token_invalid");
  });

  it("opens with the right token, and its answers are never stored", async () => {
    const { worker } = await adminSite();
    const response = await worker.fetch(adminRequest("/status"));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("moves to a configured prefix; the old prefix is then an ordinary path", async () => {
    const { origin, worker } = await adminSite({ config: { admin: { path_prefix: "/ops/edge" } } });
    const moved = await worker.fetch(new Request("https://www.example.com/ops/edge/status", { headers: { authorization: `Bearer ${TOKEN}` } }));
    expect(moved.status).toBe(200);
    const old = await worker.fetch(adminRequest("/status"));
    expect(old.headers.get("cache-status")).toContain("fwd=");
    await old.text();
    expect(await origin.hits()).toBe(1);
  });

  it("answers unknown admin paths with 404 JSON", async () => {
    const { worker } = await adminSite();
    const response = await worker.fetch(adminRequest("/nope"));
    expect(response.status).toBe(404);
    expect(await errorCode(response)).toBe("not_found");
  });
});

describe("purge request validation", () => {
  const post = (body: string) => adminRequest("/purge", { method: "POST", body, headers: { "content-type": "application/json" } });

  it.each([
    ["not JSON", "{", "The body must be JSON"],
    ["no kind", "{}", "name exactly one of files"],
    ["two kinds", '{"tags":["a"],"hosts":["x.example.com"]}', "name exactly one of files"],
    ["an empty list", '{"tags":[]}', "tags: must not be empty"],
    ["a tag over 1,024 characters", JSON.stringify({ tags: ["t".repeat(1025)] }), "tags[0]: must be at most 1024 characters"],
    ["a host with a scheme", '{"hosts":["https://x.example.com"]}', "hosts[0]: must be a host name"],
    ["a relative URL", '{"files":["/page"]}', "files[0]: must be an absolute http(s) URL"],
    ["an unknown field", '{"tags":["a"],"everything":true}', "everything"],
    ["soft that is not a boolean", '{"tags":["a"],"soft":"yes"}', "soft:"],
  ])("answers 400 naming the problem for %s", async (_name, body, problem) => {
    const { worker } = await adminSite();
    const response = await worker.fetch(post(body));
    expect(response.status).toBe(400);
    const envelope = (await response.json()) as { success: boolean; errors: Array<{ code: string; message: string; problems?: string[] }>; messages: unknown[]; result: unknown };
    expect(envelope).toMatchObject({ success: false, messages: [], result: null });
    const [error] = envelope.errors;
    expect(error!.code).toBe("invalid_request");
    expect([error!.message, ...(error!.problems ?? [])].join("\n")).toContain(problem);
  });

  it("answers 413 for a body over 64 KiB, in Cloudflare's envelope", async () => {
    const { worker } = await adminSite();
    const response = await worker.fetch(post(JSON.stringify({ tags: ["x".repeat(70_000)] })));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ success: false, errors: [{ code: "payload_too_large" }], messages: [], result: null });
  });

  it("answers a purge in Cloudflare's API envelope: success, errors, messages, result.id", async () => {
    const { worker } = await adminSite();
    const response = await worker.fetch(post('{"tags":["home"]}'));
    expect(response.status).toBe(200);
    const envelope = (await response.json()) as Record<string, any>;
    expect(Object.keys(envelope).sort()).toEqual(["errors", "messages", "result", "success"]);
    expect(envelope).toMatchObject({ success: true, errors: [], messages: [], result: { kind: "tags", count: 1, soft: false, effective: { this_isolate: "now" } } });
    expect(envelope.result.id).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("status", () => {
  it("counts uptime from the isolate's first request, not from module load where the clock reads 0", async () => {
    const { workerEnv } = await adminSite();
    const clock = new TestClock(0); // the Workers clock outside a request
    const worker = createTestWorker(workerEnv, { clock });
    clock.advance(Date.UTC(2026, 10, 23, 12, 0, 0)); // the first request
    await (await worker.fetch(new Request("https://www.example.com/page"))).text();
    clock.advance(90_000);
    const status = (await (await worker.fetch(adminRequest("/status"))).json()) as Record<string, any>;
    expect(status.isolate).toEqual({ started_at: "2026-11-23T12:00:00.000Z", uptime_seconds: 90 });
  });

  it("reports the configuration without the token, origins with health and circuits, and counters", async () => {
    const { worker } = await adminSite();
    for (let i = 0; i < 3; i++) await (await worker.fetch(new Request("https://www.example.com/page"))).text();
    await worker.scheduled(); // no monitor configured: the snapshot stays empty
    const status = (await (await worker.fetch(adminRequest("/status"))).json()) as Record<string, any>;
    expect(JSON.stringify(status)).not.toContain(TOKEN);
    expect(status.config.admin.token).toBe("set (never shown)");
    expect(status.config.routes[0]).toMatchObject({ name: "site", steering_policy: "off", default_pools: ["main"] });
    expect(status.health.pools[0].origins[0]).toMatchObject({ origin: "origin", enabled: true, available: true, circuit: { state: "closed" } });
    expect(status.cache.requests).toBe(3);
    expect(status.cache.outcomes).toMatchObject({ miss: 1, hit: 2 });
    expect(status.cache.hit_ratio).toBeCloseTo(2 / 3, 3);
    expect(status.cache.hits_by_tier).toEqual({ memory: 2 });
  });

  it("shows an open circuit and a failed health check", async () => {
    const origin = await createOrigin("origin", { kind: "echo" });
    const config = {
      cache_version: crypto.randomUUID().slice(0, 8),
      monitors: [{ name: "check", path: "/health" }],
      pools: [{ name: "main", monitor: "check", origins: [{ name: "origin", address: origin.url }], circuit_breaker: { consecutive_failures: 1, open_seconds: 30 } }],
      routes: [{ name: "site", default_pools: ["main"] }],
    };
    const worker = createTestWorker(testEnv({ OUTPOST: config, OUTPOST_ADMIN_TOKEN: TOKEN }));
    await origin.stop();
    await worker.scheduled();
    await (await worker.fetch(new Request("https://www.example.com/x"))).text();
    const status = (await (await worker.fetch(adminRequest("/status"))).json()) as Record<string, any>;
    const described = status.health.pools[0].origins[0];
    expect(described.health_check.healthy).toBe(false);
    expect(described.circuit.state).toBe("open");
    expect(described.available).toBe(false);
    expect(status.health.snapshot.age_seconds).toBe(0);
  });
});

describe("explain", () => {
  async function geoSite() {
    const eu = await createOrigin("eu", { kind: "echo", headers: { "cache-control": "max-age=120, stale-while-revalidate=30" } });
    const apac = await createOrigin("apac", { kind: "echo" });
    const config = {
      cache_version: crypto.randomUUID().slice(0, 8),
      pools: [
        { name: "eu", origins: [{ name: "eu-1", address: eu.url }] },
        { name: "apac", origins: [{ name: "apac-1", address: apac.url }] },
      ],
      routes: [{ name: "site", hosts: ["www.example.com"], default_pools: ["eu", "apac"], steering_policy: "geo" as const, country_pools: { JP: ["apac"] }, cache: { key: { country: true } } }],
    };
    return { eu, apac, worker: createTestWorker(testEnv({ OUTPOST: config, OUTPOST_ADMIN_TOKEN: TOKEN })) };
  }

  it("traces route, steering, candidates, key and tiers for a visitor, without contacting an origin", async () => {
    const { eu, apac, worker } = await geoSite();
    const response = await worker.fetch(adminRequest(`/explain?url=${encodeURIComponent("https://www.example.com/page?utm_source=x")}&country=jp&colo=NRT`));
    expect(response.status).toBe(200);
    const trace = (await response.json()) as Record<string, any>;
    expect(trace.route.name).toBe("site");
    expect(trace.steering).toMatchObject({ policy: "geo", reason: "country:JP" });
    expect(trace.steering.candidates.map((c: { pool: string; origin: string }) => `${c.pool}/${c.origin}`)).toEqual(["apac/apac-1", "eu/eu-1"]);
    expect(trace.cache.key).toMatch(/\|https:\/\/www\.example\.com\/page\|country=JP$/);
    expect(trace.cache.tiers.map((t: { tier: string; state: string }) => `${t.tier}:${t.state}`)).toEqual(["memory:absent", "colo:absent", "kv:absent"]);
    expect(trace.cache.cache_status).toBe("Outpost; fwd=miss");
    expect(await eu.hits()).toBe(0);
    expect(await apac.hits()).toBe(0);
  });

  it("shows the stored entry's state in each tier and the Cache-Status a request would get", async () => {
    const { eu, worker } = await geoSite();
    await (await worker.fetch(new Request("https://www.example.com/page", { cf: { country: "DE" } }))).text();
    worker.clock.advance(130_000); // 10 s past freshness, inside stale-while-revalidate
    const trace = (await (await worker.fetch(adminRequest(`/explain?url=${encodeURIComponent("https://www.example.com/page")}&country=DE`))).json()) as Record<string, any>;
    const colo = trace.cache.tiers.find((t: { tier: string }) => t.tier === "colo");
    expect(colo).toMatchObject({ state: "stale-while-revalidate", status: 200, age_seconds: 130, ttl_seconds: -10 });
    expect(trace.cache.tiers.find((t: { tier: string }) => t.tier === "memory").state).toBe("absent"); // the hot tier keeps entries 10 s
    expect(trace.cache.cache_status).toBe("Outpost; hit; ttl=-10; detail=colo:stale-while-revalidate");
    expect(await eu.hits()).toBe(1);
  });

  // explain judges an entry with its own copy of the pipeline's order (purge ledger, then freshness,
  // then the request's directives): this walk through every state keeps the two from drifting apart.
  it("predicts the Cache-Status the next request gets, in every state an entry goes through", async () => {
    const origin = await createOrigin("origin", { kind: "echo", headers: { "cache-control": "max-age=60, stale-while-revalidate=30" } });
    const config = { ...siteConfig([{ name: "main", origins: [{ name: "origin", address: origin.url }] }], { cache: { request_cache_control: "honor" } }), cache_version: crypto.randomUUID().slice(0, 8) };
    const worker = createTestWorker(testEnv({ OUTPOST: config, OUTPOST_ADMIN_TOKEN: TOKEN }));
    const page = "https://www.example.com/page";
    const fields = (status: string) => new Map(status.split("; ").slice(1).map((part) => [part.split("=")[0], part.split("=")[1]] as const));
    /** The prediction, then the real request: same hit or fwd reason, same ttl and tier when predicted. */
    async function expectPredicted(url: string, headers: Record<string, string> = {}): Promise<string> {
      const query = Object.entries(headers).map(([name, value]) => `&header=${encodeURIComponent(`${name}: ${value}`)}`).join("");
      const explained = (await (await worker.fetch(adminRequest(`/explain?url=${encodeURIComponent(url)}${query}`))).json()) as Record<string, any>;
      const predicted: string = explained.cache.cache_status;
      const response = await worker.fetch(new Request(url, { headers }));
      await response.arrayBuffer();
      const actual = response.headers.get("cache-status") ?? "";
      const [want, got] = [fields(predicted), fields(actual)];
      expect(got.has("hit"), `${predicted} vs ${actual}`).toBe(want.has("hit"));
      expect(got.get("fwd"), `${predicted} vs ${actual}`).toBe(want.get("fwd"));
      if (want.has("ttl")) expect(got.get("ttl"), `${predicted} vs ${actual}`).toBe(want.get("ttl"));
      if (want.has("detail")) expect(got.get("detail")?.startsWith(want.get("detail")!), `${predicted} vs ${actual}`).toBe(true);
      return predicted;
    }
    const purge = async (body: unknown) => expect((await worker.fetch(adminRequest("/purge", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }))).status).toBe(200);

    expect(await expectPredicted(page)).toBe("Outpost; fwd=miss");
    expect(await expectPredicted(page)).toBe("Outpost; hit; ttl=60; detail=memory");
    expect(await expectPredicted(page, { "cache-control": "no-cache" })).toBe("Outpost; fwd=request");
    worker.clock.advance(70_000); // stale, inside stale-while-revalidate; the hot tier's copy is gone
    expect(await expectPredicted(page)).toBe("Outpost; hit; ttl=-10; detail=colo:stale-while-revalidate");
    worker.clock.advance(1_000);
    await purge({ files: [page], soft: true }); // stale from now on: served while it revalidates
    expect(await expectPredicted(page)).toBe("Outpost; hit; ttl=0; detail=memory:stale-while-revalidate");
    worker.clock.advance(1_000);
    await purge({ files: [page] });
    expect(await expectPredicted(page)).toBe("Outpost; fwd=miss; detail=purged");
    await origin.behave({ kind: "echo", headers: { "cache-control": "no-store" } });
    await expectPredicted(`${page}-private`);
    expect(await expectPredicted(`${page}-private`)).toBe("Outpost; fwd=bypass; detail=recently-uncacheable");
    // The miss, no-cache, two background refreshes (stale-while-revalidate, soft purge), the purged miss, two uncacheable.
    expect(await origin.hits()).toBe(7);
  });

  it("explains a path no route serves, and a bypassed method", async () => {
    const { worker } = await geoSite();
    const unrouted = (await (await worker.fetch(adminRequest(`/explain?url=${encodeURIComponent("https://other.example.com/")}`))).json()) as Record<string, any>;
    expect(unrouted.route).toBeNull();
    expect(unrouted.outcome).toContain("no_route");
    const post = (await (await worker.fetch(adminRequest(`/explain?method=POST&url=${encodeURIComponent("https://www.example.com/form")}`))).json()) as Record<string, any>;
    expect(post.cache.cache_status).toBe("Outpost; fwd=method");
  });

  it("answers 400 naming each bad parameter", async () => {
    const { worker } = await geoSite();
    const response = await worker.fetch(adminRequest("/explain?url=ftp://x&country=Germany&lat=north"));
    expect(response.status).toBe(400);
    const problems = ((await response.json()) as { error: { problems: string[] } }).error.problems.join("\n");
    expect(problems).toContain("url: must be an absolute http(s) URL");
    expect(problems).toContain("country: must be a two-letter country code");
    expect(problems).toContain("lat: must be a number");
  });
});

describe("dashboard page", () => {
  it("serves a self-contained page behind the token gate, with a strict content security policy", async () => {
    const { worker } = await adminSite();
    const page = await worker.fetch(adminRequest("/", { token: null }));
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).toContain('id="purge-form"');
    const { worker: closed } = await adminSite({ token: undefined });
    expect((await closed.fetch(adminRequest("/", { token: null }))).status).toBe(404);
  });
});

describe("admin edges: input errors are 400 JSON, the prefix is never proxied", () => {
  const explainPath = (query: string) => `/explain?url=${encodeURIComponent("https://www.example.com/page")}&${query}`;

  it.each([
    ["a header value with NUL", "header=X-A:%00b"],
    ["a header value with CR LF", "header=X-A:a%0D%0AInjected:%201"],
    ["method=CONNECT", "method=CONNECT"],
    ["method=TRACK", "method=TRACK"],
  ])("answers explain with %s 400 JSON naming the problem, no stack", async (_case, query) => {
    const { origin, worker } = await adminSite();
    const response = await worker.fetch(adminRequest(explainPath(query)));
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "invalid_request" } });
    expect(text).not.toMatch(/\bat .*\.ts:\d+/);
    await expectNoOriginContact(origin);
  });

  it("answers an unexpected admin failure 500 JSON without its stack (the admin error boundary)", async () => {
    const { origin, worker } = await adminSite();
    worker.deps.health.refresh = () => Promise.reject(new Error("secret internals at src/x.ts:1:1"));
    const response = await worker.fetch(adminRequest(explainPath("country=DE")));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "internal_error" } });
    expect(text).not.toContain("secret internals");
    expect(response.headers.get("cache-control")).toBe("no-store");
    await expectNoOriginContact(origin);
  });

  it.each(["/__outpost%2fstatus", "/__OUTPOST/status", "/%5F_outpost/status", "/%255F_outpost/status", "//__outpost/status", "/x/..%2f__outpost/status"])(
    "never proxies %s to the origin (it answers 400 JSON)",
    async (path) => {
      const { origin, worker } = await adminSite();
      for (const token of [TOKEN, null]) {
        const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
        const response = await worker.fetch(new Request(`https://www.example.com${path}`, { headers }));
        expect(response.status).toBe(400);
        expect(await errorCode(response)).toBe("invalid_request");
      }
      await expectNoOriginContact(origin);
    },
  );

  it("answers HEAD to a disguised admin path 400 without a body (RFC 9110 §9.3.2)", async () => {
    const { origin, worker } = await adminSite();
    const response = await worker.fetch(new Request("https://www.example.com/__OUTPOST/status", { method: "HEAD" }));
    expect(response.status).toBe(400);
    expect(await response.text()).toBe("");
    await expectNoOriginContact(origin);
  });

  it("purges a host's entries whatever the spelling the request used (trailing dot, case)", async () => {
    const { origin, worker } = await adminSite();
    const fetchPage = async (url: string) => {
      const response = await worker.fetch(new Request(url));
      await response.text();
      return response.headers.get("cache-status") ?? "";
    };
    expect(await fetchPage("https://www.example.com./page")).toContain("stored");
    expect(await fetchPage("https://WWW.EXAMPLE.COM/page")).toContain("hit"); // one entry for every spelling
    worker.clock.advance(1_000);
    const purged = await worker.fetch(adminRequest("/purge", { method: "POST", body: JSON.stringify({ hosts: ["www.example.com."] }) }));
    expect(purged.status).toBe(200);
    worker.clock.advance(1);
    expect(await fetchPage("https://www.example.com./page")).toContain("fwd=miss");
    expect(await origin.hits()).toBe(2);
  });

  it("routes a trailing-dot host by its name without the dot", async () => {
    const { origin, worker } = await adminSite({ config: { routes: [{ name: "site", hosts: ["www.example.com"], path: "/*", default_pools: ["main"] }] } });
    const response = await worker.fetch(new Request("https://www.example.com./page"));
    expect(response.status).toBe(200);
    expect(await origin.hits()).toBe(1);
  });
});

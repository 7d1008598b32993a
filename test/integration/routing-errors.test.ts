import { describe, expect, it } from "vitest";
import { createOrigin } from "../helpers/origins.ts";
import { callWorker, createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

interface ErrorBody {
  error: { code: string; message: string; route?: string; attempts?: Array<{ pool: string; origin: string; outcome: string }> };
}

describe("requests Outpost cannot forward", () => {
  it("answers 404 JSON when no route matches, without contacting any origin", async () => {
    const origin = await createOrigin("a");
    const env = testEnv({
      OUTPOST: { pools: [{ name: "main", origins: [{ name: "a", address: origin.url }] }], routes: [{ name: "site", hosts: ["www.example.com"], default_pools: ["main"] }] },
    });
    const response = await callWorker(new Request("https://attacker.example.net/"), env);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe("no_route");
    expect(body.error.message).toContain("attacker.example.net/");
    expect(await origin.hits()).toBe(0);
  });

  it("never takes the upstream from the request: absolute URLs in headers change nothing", async () => {
    const origin = await createOrigin("a");
    const env = testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "a", address: origin.url }] }]) });
    const response = await callWorker(
      new Request("https://www.example.com/http://169.254.169.254/latest", {
        headers: { "x-forwarded-host": "169.254.169.254", "x-original-url": "http://169.254.169.254/", "x-host": "evil" },
      }),
      env,
    );
    expect(response.status).toBe(200);
    const [seen] = await origin.requests();
    expect(seen?.url).toBe("/http://169.254.169.254/latest");
    expect(seen?.headers["x-forwarded-host"]).toBe("www.example.com");
  });

  it("keeps the reserved admin prefix away from origins", async () => {
    const origin = await createOrigin("a");
    const env = testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "a", address: origin.url }] }]) });
    const response = await callWorker(new Request("https://www.example.com/__outpost/status"), env);
    expect(response.status).toBe(404);
    expect(((await response.json()) as ErrorBody).error.code).toBe("admin_disabled");
    expect(await origin.hits()).toBe(0);
  });

  it("answers every request with 500 config_invalid when the configuration is broken", async () => {
    const env = testEnv({ OUTPOST: { pools: [], routes: [{ name: "site", default_pools: ["nowhere"] }] } });
    const response = await callWorker(new Request("https://www.example.com/"), env);
    expect(response.status).toBe(500);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe("config_invalid");
    expect(JSON.stringify(body)).not.toContain("nowhere"); // details go to the log, not to visitors
  });
});

describe("origin failures", () => {
  it("answers 502 JSON naming the failed origin when it refuses connections", async () => {
    const origin = await createOrigin("a");
    await origin.stop();
    const env = testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "a", address: origin.url }] }]) });
    const response = await callWorker(new Request("https://www.example.com/"), env);
    expect(response.status).toBe(502);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe("origin_unreachable");
    expect(body.error.attempts).toEqual([{ pool: "main", origin: "a", outcome: "connect_error", elapsed_ms: expect.any(Number) }]);
    expect(JSON.stringify(body)).not.toContain(origin.url); // origin addresses stay private
  });

  it("answers 504 when the origin hangs past the timeout, and cancels the subrequest", async () => {
    const origin = await createOrigin("a", { kind: "hang" });
    const env = testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "a", address: origin.url }] }], { origin_timeout_ms: 100 }) });
    const worker = createTestWorker(env);
    const pending = worker.fetch(new Request("https://www.example.com/"));
    await expect.poll(() => origin.hits()).toBe(1);
    worker.clock.advance(99);
    // Not yet: the attempt's timer and the fill's deadline timer (waiters' bound) are both armed.
    expect(worker.clock.pendingTimers()).toBe(2);
    worker.clock.advance(1); // the attempt's timer fires on the injected clock: no real waiting
    const response = await pending;
    expect(worker.clock.pendingTimers()).toBe(0); // the failed fill cancelled its deadline timer
    expect(response.status).toBe(504);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe("origin_timeout");
    expect(body.error.attempts?.[0]?.outcome).toBe("timeout");
    await expect.poll(async () => (await origin.requests())[0]?.aborted).toBe(true);
  });

  it("cancels the origin fetch when the client goes away, and tries no other origin", async () => {
    const primary = await createOrigin("primary", { kind: "hang" });
    const backup = await createOrigin("backup");
    const env = testEnv({
      OUTPOST: siteConfig([
        { name: "primary", origins: [{ name: "primary", address: primary.url }] },
        { name: "backup", origins: [{ name: "backup", address: backup.url }] },
      ]),
    });
    const client = new AbortController();
    const pending = callWorker(new Request("https://www.example.com/slow", { signal: client.signal }), env);
    await expect.poll(() => primary.hits()).toBe(1);
    client.abort();
    await pending;
    await expect.poll(async () => (await primary.requests())[0]?.aborted).toBe(true);
    expect(await backup.hits()).toBe(0);
  });

  it("fails over to the backup pool when the primary refuses connections", async () => {
    const primary = await createOrigin("primary");
    const backup = await createOrigin("backup");
    await primary.stop();
    const env = testEnv({
      OUTPOST: siteConfig([
        { name: "primary", origins: [{ name: "primary", address: primary.url }] },
        { name: "backup", origins: [{ name: "backup", address: backup.url }] },
      ]),
    });
    const response = await callWorker(new Request("https://www.example.com/page"), env);
    expect(response.status).toBe(200);
    expect(response.headers.get("outpost-upstream")).toBe('route="site", pool="backup", origin="backup", steering="off", reason="default", attempts=2');
    expect(await backup.hits()).toBe(1);
  });

  it("fails over to the backup when the primary hangs, within the request deadline", async () => {
    const primary = await createOrigin("primary", { kind: "hang" });
    const backup = await createOrigin("backup");
    const env = testEnv({
      OUTPOST: siteConfig(
        [
          { name: "primary", origins: [{ name: "primary", address: primary.url }] },
          { name: "backup", origins: [{ name: "backup", address: backup.url }] },
        ],
        { origin_timeout_ms: 100 },
      ),
    });
    const worker = createTestWorker(env);
    const pending = worker.fetch(new Request("https://www.example.com/"));
    await expect.poll(() => primary.hits()).toBe(1);
    worker.clock.advance(100);
    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.headers.get("x-origin")).toBe("backup");
    expect(await primary.hits()).toBe(1);
    expect(await backup.hits()).toBe(1);
  });

  it("does not replay a POST with a body on another origin", async () => {
    const primary = await createOrigin("primary", { kind: "reset" });
    const backup = await createOrigin("backup");
    const env = testEnv({
      OUTPOST: siteConfig([
        { name: "primary", origins: [{ name: "primary", address: primary.url }] },
        { name: "backup", origins: [{ name: "backup", address: backup.url }] },
      ]),
    });
    const response = await callWorker(new Request("https://www.example.com/orders", { method: "POST", body: "order=1" }), env);
    expect(response.status).toBe(502);
    expect(await primary.hits()).toBe(1);
    expect(await backup.hits()).toBe(0);
  });

  it("answers 504 when the deadline passes before any origin answers", async () => {
    const first = await createOrigin("first", { kind: "hang" });
    const second = await createOrigin("second", { kind: "hang" });
    const env = testEnv({
      OUTPOST: siteConfig(
        [
          { name: "first", origins: [{ name: "first", address: first.url }] },
          { name: "second", origins: [{ name: "second", address: second.url }] },
        ],
        { origin_timeout_ms: 5_000, deadline_ms: 150 },
      ),
    });
    const worker = createTestWorker(env);
    const pending = worker.fetch(new Request("https://www.example.com/"));
    await expect.poll(() => first.hits()).toBe(1);
    worker.clock.advance(150);
    const response = await pending;
    expect(response.status).toBe(504);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.attempts?.map((a) => a.outcome)).toEqual(["deadline"]);
    expect(await second.hits()).toBe(0);
  });
});

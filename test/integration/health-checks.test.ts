// Active health checks: the cron handler probes real origins, writes the snapshot to real KV, and
// every isolate (worker) steers around origins marked down.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HEALTH_SNAPSHOT_KEY, type HealthSnapshot } from "../../src/health/health-snapshot.ts";
import { SNAPSHOT_MEMORY_MS } from "../../src/health/origin-health.ts";
import { VERDICT_MARGIN_MS } from "../../src/health/run-health-checks.ts";
import { createOrigin } from "../helpers/origins.ts";
import { createTestWorker, TestClock, testEnv } from "../helpers/worker.ts";

const kv = (env as unknown as { OUTPOST_CACHE: KVNamespace }).OUTPOST_CACHE;
const get = () => new Request("https://www.example.com/page");

async function monitoredSite(monitor: Record<string, unknown> = {}) {
  const primary = await createOrigin("primary");
  const backup = await createOrigin("backup");
  await kv.delete(HEALTH_SNAPSHOT_KEY);
  const config = {
    monitors: [{ name: "hc", path: "/healthz", expected_codes: "200", interval_seconds: 60, timeout_ms: 200, retries: 0, ...monitor }],
    pools: [
      { name: "primary", monitor: "hc", origins: [{ name: "primary", address: primary.url }] },
      { name: "backup", monitor: "hc", origins: [{ name: "backup", address: backup.url }] },
    ],
    routes: [{ name: "site", default_pools: ["primary", "backup"] }],
  };
  const clock = new TestClock();
  const workerEnv = testEnv({ OUTPOST: config });
  return { primary, backup, clock, workerEnv, cron: createTestWorker(workerEnv, { clock }) };
}

async function snapshot(): Promise<HealthSnapshot> {
  return (await kv.get(HEALTH_SNAPSHOT_KEY, "json")) as HealthSnapshot;
}

describe("cron health checks", () => {
  it("probes every monitored origin and writes one snapshot to KV", async () => {
    const { primary, backup, clock, cron } = await monitoredSite();
    await primary.behave({ kind: "fixed", status: 503 });
    await cron.scheduled();
    const written = await snapshot();
    expect(written.version).toBe(1);
    expect(written.writtenAt).toBe(clock.now());
    expect(written.origins["primary/primary"]).toMatchObject({ address: primary.url, healthy: false, status: 503, checkedAt: clock.now(), staleAt: clock.now() + 120_200 });
    expect(written.origins["backup/backup"]).toMatchObject({ healthy: true, status: 200 });
    const [probe] = await primary.requests();
    expect(probe).toMatchObject({ method: "GET", url: "/healthz" });
    expect(probe?.headers["user-agent"]).toBe("Outpost-Health-Check/1");
    expect(await backup.hits()).toBe(1);
  });

  it("marks an origin that does not answer within timeout_ms as down", async () => {
    // 10 s: longer than the test may take, so a probe timed by the real clock fails the test.
    const { primary, cron } = await monitoredSite({ timeout_ms: 10_000 });
    await primary.behave({ kind: "hang" });
    const running = cron.scheduled();
    await expect.poll(() => primary.hits()).toBe(1);
    cron.clock.advance(10_000); // the probe's timer runs on the injected clock
    await running;
    expect((await snapshot()).origins["primary/primary"]).toMatchObject({ healthy: false, failure: "timeout after 10000 ms", latencyMs: 10_000 });
  });

  it("retries a failed probe before marking the origin down", async () => {
    const { primary, cron } = await monitoredSite({ retries: 2 });
    await primary.stop();
    await cron.scheduled();
    expect((await snapshot()).origins["primary/primary"]?.healthy).toBe(false);
    await primary.start();
    await primary.behave({ kind: "fixed", status: 503 });
    const before = await primary.hits();
    cron.clock.advance(60_000);
    await cron.scheduled();
    expect((await primary.hits()) - before).toBe(3);
  });

  it("probes again only when the monitor's interval has passed", async () => {
    const { backup, cron } = await monitoredSite({ interval_seconds: 120 });
    await cron.scheduled();
    cron.clock.advance(60_000);
    await cron.scheduled();
    expect(await backup.hits()).toBe(1);
    cron.clock.advance(60_000);
    await cron.scheduled();
    expect(await backup.hits()).toBe(2);
  });

  it("every isolate skips an origin marked down: it sees no traffic", async () => {
    const { primary, backup, clock, workerEnv, cron } = await monitoredSite();
    await primary.behave({ kind: "fixed", status: 503 });
    await cron.scheduled();
    await primary.behave({ kind: "echo" }); // up again, but the snapshot does not know yet
    const probes = await primary.hits();
    const otherIsolate = createTestWorker(workerEnv, { clock });
    for (let i = 0; i < 3; i += 1) {
      const response = await otherIsolate.fetch(get());
      expect(response.headers.get("x-origin")).toBe("backup");
    }
    expect(await primary.hits()).toBe(probes);
    expect(await backup.hits()).toBe(1 + 3);
  });

  it("brings traffic back within one interval once the origin heals", async () => {
    const { primary, clock, workerEnv, cron } = await monitoredSite();
    await primary.behave({ kind: "fixed", status: 503 });
    await cron.scheduled();
    const isolate = createTestWorker(workerEnv, { clock });
    expect((await isolate.fetch(get())).headers.get("x-origin")).toBe("backup");

    await primary.behave({ kind: "echo" });
    clock.advance(60_000);
    await cron.scheduled();
    expect((await snapshot()).origins["primary/primary"]?.healthy).toBe(true);
    // The other isolate re-reads the snapshot once its copy is SNAPSHOT_MEMORY_MS old.
    expect(SNAPSHOT_MEMORY_MS).toBeLessThanOrEqual(60_000);
    expect((await isolate.fetch(get())).headers.get("x-origin")).toBe("primary");
  });

  it("trusts no verdict past its interval, its probes' time and a margin: the origin counts as healthy again", async () => {
    const { primary, clock, workerEnv, cron } = await monitoredSite();
    await primary.behave({ kind: "fixed", status: 503 });
    await cron.scheduled();
    await primary.behave({ kind: "echo" });
    // interval 60 s + timeout 200 ms x (1 + 0 retries) + VERDICT_MARGIN_MS
    expect(VERDICT_MARGIN_MS).toBe(60_000);
    clock.advance(120_200 - 1);
    expect((await createTestWorker(workerEnv, { clock }).fetch(get())).headers.get("x-origin")).toBe("backup");
    clock.advance(1);
    expect((await createTestWorker(workerEnv, { clock }).fetch(get())).headers.get("x-origin")).toBe("primary");
  });

  it("assumes healthy when there is no snapshot at all", async () => {
    const { workerEnv, clock } = await monitoredSite();
    expect((await createTestWorker(workerEnv, { clock }).fetch(get())).headers.get("x-origin")).toBe("primary");
  });

  it("still tries origins marked down when every origin is marked down", async () => {
    const { primary, backup, clock, workerEnv, cron } = await monitoredSite();
    await primary.behave({ kind: "fixed", status: 503 });
    await backup.behave({ kind: "fixed", status: 503 });
    await cron.scheduled();
    await primary.behave({ kind: "echo" });
    const response = await createTestWorker(workerEnv, { clock }).fetch(get());
    expect(response.status).toBe(200);
    expect(response.headers.get("x-origin")).toBe("primary");
  });

  it("serves from the origins when KV fails", async () => {
    // A KV outage cannot be produced by the local KV, so this binding is a stand-in that throws.
    const failingKv = {
      get: () => Promise.reject(new Error("KV GET failed: 503")),
      put: () => Promise.reject(new Error("KV PUT failed: 429 Too Many Requests")),
    } as unknown as KVNamespace;
    const { primary, clock, workerEnv } = await monitoredSite();
    const broken = { ...workerEnv, OUTPOST_CACHE: failingKv };
    const isolate = createTestWorker(broken, { clock });
    await isolate.scheduled(); // logs, does not throw
    const response = await isolate.fetch(get());
    expect(response.status).toBe(200);
    expect(await primary.hits()).toBeGreaterThanOrEqual(1);
  });
});

describe("health after a restart", () => {
  const TOKEN = "admin-token-for-health-tests-0123";
  type Described = { origin: string; available: boolean; health_check: { verdict: string; healthy: boolean; trusted: boolean } | null };
  async function originsInStatus(worker: ReturnType<typeof createTestWorker>): Promise<Record<string, Described>> {
    const response = await worker.fetch(new Request("https://www.example.com/__outpost/status", { headers: { authorization: `Bearer ${TOKEN}` } }));
    const body = (await response.json()) as { health: { pools: Array<{ origins: Described[] }> } };
    return Object.fromEntries(body.health.pools.flatMap((pool) => pool.origins).map((origin) => [origin.origin, origin]));
  }

  it("shows a verdict too old to trust as unknown, and unknown never demotes the origin", async () => {
    const { primary, clock, workerEnv, cron } = await monitoredSite();
    await primary.behave({ kind: "fixed", status: 503 });
    await cron.scheduled();
    await primary.behave({ kind: "echo" });
    const withToken = { ...workerEnv, OUTPOST_ADMIN_TOKEN: TOKEN };

    clock.advance(120_200 - 1);
    const before = await originsInStatus(createTestWorker(withToken, { clock }));
    expect(before.primary).toMatchObject({ available: false, health_check: { verdict: "down", trusted: true } });

    clock.advance(1); // the previous run's verdict is now too old
    const restarted = createTestWorker(withToken, { clock });
    const after = await originsInStatus(restarted);
    expect(after.primary).toMatchObject({ available: true, health_check: { verdict: "unknown", healthy: false, trusted: false } });
    expect(after.backup?.health_check?.verdict).toBe("unknown");
    expect((await restarted.fetch(get())).headers.get("x-origin")).toBe("primary");
  });

  it("probes an origin marked down again on the next run, before its interval has passed", async () => {
    const { primary, clock, workerEnv, cron } = await monitoredSite({ interval_seconds: 300 });
    await primary.behave({ kind: "fixed", status: 503 });
    await cron.scheduled();
    await primary.behave({ kind: "echo" });
    const probes = await primary.hits();

    // A restarted worker's first cron run (npm start fires one as soon as wrangler answers).
    clock.advance(20_000);
    const restarted = createTestWorker({ ...workerEnv, OUTPOST_ADMIN_TOKEN: TOKEN }, { clock });
    await restarted.scheduled();
    expect((await primary.hits()) - probes).toBe(1);
    expect((await snapshot()).origins["primary/primary"]).toMatchObject({ healthy: true, checkedAt: clock.now() });
    expect((await originsInStatus(restarted)).primary).toMatchObject({ available: true, health_check: { verdict: "healthy" } });
  });

  it("keeps a healthy verdict until its interval has passed", async () => {
    const { backup, clock, cron } = await monitoredSite({ interval_seconds: 300 });
    await cron.scheduled();
    clock.advance(60_000);
    await cron.scheduled();
    expect(await backup.hits()).toBe(1);
  });
});

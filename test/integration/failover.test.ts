// Failover and passive health against real origin servers, with the clock stepped by the test.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import type { OriginRef } from "../../src/health/origin-health.ts";
import { createOrigin, type TestOrigin } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

const get = (path = "/") => new Request(`https://www.example.com${path}`);

type BreakerSettings = NonNullable<OutpostConfigInput["pools"][number]["circuit_breaker"]>;

async function primaryAndBackup(route: Partial<OutpostConfigInput["routes"][number]> = {}, breaker: BreakerSettings = { consecutive_failures: 2, open_seconds: 30 }) {
  const primary = await createOrigin("primary");
  const backup = await createOrigin("backup");
  const config = siteConfig(
    [
      { name: "primary", circuit_breaker: breaker, origins: [{ name: "primary", address: primary.url }] },
      { name: "backup", circuit_breaker: breaker, origins: [{ name: "backup", address: backup.url }] },
    ],
    route,
  );
  const worker = createTestWorker(testEnv({ OUTPOST: config }));
  // The primary's circuit as this isolate holds it (keyed by pool, origin and address).
  const primaryCircuit = () => worker.health.breakerState({ pool: { name: "primary" }, origin: { name: "primary", address: primary.url } } as unknown as OriginRef);
  return { primary, backup, worker, primaryCircuit };
}

const originOf = (response: Response) => response.headers.get("x-origin");

describe("failover on origin answers", () => {
  it("tries the backup when the primary answers 503, and delivers the backup's answer", async () => {
    const { primary, backup, worker } = await primaryAndBackup();
    await primary.behave({ kind: "fixed", status: 503, body: "down for maintenance" });
    const response = await worker.fetch(get());
    expect(response.status).toBe(200);
    expect(originOf(response)).toBe("backup");
    expect([await primary.hits(), await backup.hits()]).toEqual([1, 1]);
  });

  it("delivers the last origin's 5xx when every origin answers with one", async () => {
    const { primary, backup, worker } = await primaryAndBackup();
    await primary.behave({ kind: "fixed", status: 503, body: "primary down" });
    await backup.behave({ kind: "fixed", status: 502, body: "backup down" });
    const response = await worker.fetch(get());
    expect(response.status).toBe(502);
    expect(await response.text()).toBe("backup down");
    expect(response.headers.get("outpost-upstream")).toContain("attempts=2");
  });

  it("does not retry statuses outside retry_on_statuses", async () => {
    const { primary, backup, worker } = await primaryAndBackup({ retry_on_statuses: [503] });
    await primary.behave({ kind: "fixed", status: 500, body: "bug" });
    const response = await worker.fetch(get());
    expect(response.status).toBe(500);
    expect(await backup.hits()).toBe(0);
  });

  it("replays a small PUT body on the backup", async () => {
    const { primary, backup, worker } = await primaryAndBackup();
    await primary.behave({ kind: "fixed", status: 503 });
    const response = await worker.fetch(new Request("https://www.example.com/doc", { method: "PUT", body: "x".repeat(100), headers: { "content-length": "100" } }));
    expect(response.status).toBe(200);
    expect((await primary.requests())[0]?.bodyBytes).toBe(100);
    expect((await backup.requests())[0]?.bodyBytes).toBe(100);
  });

  it("sends a PUT larger than max_replay_body_bytes once, streamed", async () => {
    const { primary, backup, worker } = await primaryAndBackup({ max_replay_body_bytes: 10 });
    await primary.behave({ kind: "fixed", status: 503, body: "busy" });
    const response = await worker.fetch(new Request("https://www.example.com/doc", { method: "PUT", body: "x".repeat(100), headers: { "content-length": "100" } }));
    expect(response.status).toBe(503);
    expect(await backup.hits()).toBe(0);
  });

  it("keeps serving every GET while the primary is killed and restarted", async () => {
    const { primary, backup, worker } = await primaryAndBackup();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await worker.fetch(get(`/a${i}`))).status);
    await primary.stop();
    for (let i = 0; i < 5; i += 1) statuses.push((await worker.fetch(get(`/b${i}`))).status);
    await primary.start();
    expect(statuses).toEqual(Array(10).fill(200));
    expect(await backup.hits()).toBe(5);
  });
});

describe("circuit breaker", () => {
  async function openPrimaryCircuit(primary: TestOrigin, worker: ReturnType<typeof createTestWorker>) {
    await primary.stop();
    await worker.fetch(get("/1"));
    await worker.fetch(get("/2")); // second consecutive failure opens the circuit
    await primary.start();
  }

  it("sends no request to an origin whose circuit is open", async () => {
    const { primary, backup, worker } = await primaryAndBackup();
    await openPrimaryCircuit(primary, worker);
    const before = await primary.hits();
    for (let i = 0; i < 5; i += 1) expect(originOf(await worker.fetch(get()))).toBe("backup");
    expect(await primary.hits()).toBe(before);
    expect(await backup.hits()).toBe(7);
  });

  it("lets one trial through once open_seconds have passed, and closes on success", async () => {
    const { primary, worker } = await primaryAndBackup();
    await openPrimaryCircuit(primary, worker);
    worker.clock.advance(29_999);
    expect(originOf(await worker.fetch(get()))).toBe("backup");
    worker.clock.advance(1);
    expect(originOf(await worker.fetch(get()))).toBe("primary");
    expect(originOf(await worker.fetch(get()))).toBe("primary");
    expect(await primary.hits()).toBe(2);
  });

  it("re-opens when the trial fails", async () => {
    const { primary, worker } = await primaryAndBackup();
    await openPrimaryCircuit(primary, worker);
    await primary.behave({ kind: "fixed", status: 503 });
    worker.clock.advance(30_000);
    expect(originOf(await worker.fetch(get()))).toBe("backup");
    expect(await primary.hits()).toBe(1); // the trial
    expect(originOf(await worker.fetch(get()))).toBe("backup");
    expect(await primary.hits()).toBe(1);
  });

  it("still tries origins behind open circuits when nothing else is left", async () => {
    const { primary, backup, worker } = await primaryAndBackup();
    await openPrimaryCircuit(primary, worker);
    await backup.stop();
    const response = await worker.fetch(get());
    expect(response.status).toBe(200);
    expect(originOf(response)).toBe("primary");
  });
});

describe("circuit breaker: what opens it", () => {
  it("stays closed when one path answers 503 again and again: one client cannot eject an origin", async () => {
    const { primary, backup, worker, primaryCircuit } = await primaryAndBackup();
    await primary.behave({ kind: "fixed", status: 503, body: "this page is broken" });
    for (let i = 0; i < 5; i += 1) expect(originOf(await worker.fetch(get("/broken")))).toBe("backup");
    expect([await primary.hits(), await backup.hits()]).toEqual([5, 5]);
    await primary.behave({ kind: "echo" });
    expect(originOf(await worker.fetch(get("/home")))).toBe("primary");
    expect(primaryCircuit()).toMatchObject({ kind: "closed", window: { errors: 5, errorPaths: [expect.any(Number)] } });
  });

  it("opens on error statuses across paths once the window has the minimum answers and the failure ratio", async () => {
    const breaker = { consecutive_failures: 2, open_seconds: 30, status_minimum_requests: 4, status_failure_ratio: 0.5, status_minimum_paths: 2 };
    const { primary, worker, primaryCircuit } = await primaryAndBackup({}, breaker);
    await primary.behave({ kind: "fixed", status: 503 });
    for (const path of ["/a", "/b", "/c"]) expect(originOf(await worker.fetch(get(path)))).toBe("backup");
    expect(primaryCircuit().kind).toBe("closed"); // 3 answers: under the volume
    await worker.fetch(get("/d"));
    expect(primaryCircuit().kind).toBe("open");
    expect(await primary.hits()).toBe(4);
    await primary.behave({ kind: "echo" });
    expect(originOf(await worker.fetch(get("/e")))).toBe("backup");
    expect(await primary.hits()).toBe(4);
  });

  it("opens on timeouts in a row, timed on the injected clock", async () => {
    const { primary, backup, worker } = await primaryAndBackup({ origin_timeout_ms: 1_000 });
    await primary.behave({ kind: "hang" });
    for (let i = 1; i <= 2; i += 1) {
      const pending = worker.fetch(get(`/t${i}`));
      await expect.poll(() => primary.hits()).toBe(i);
      worker.clock.advance(1_000);
      expect(originOf(await pending)).toBe("backup");
    }
    expect(originOf(await worker.fetch(get("/t3")))).toBe("backup");
    expect([await primary.hits(), await backup.hits()]).toEqual([2, 3]);
  });
});

describe("what is sent to a second origin", () => {
  it("sends a POST once even with a small declared body, and delivers the primary's 503", async () => {
    const { primary, backup, worker } = await primaryAndBackup();
    await primary.behave({ kind: "fixed", status: 503, body: "busy" });
    const response = await worker.fetch(new Request("https://www.example.com/orders", { method: "POST", body: "order=1", headers: { "content-length": "7" } }));
    expect(response.status).toBe(503);
    expect(await response.text()).toBe("busy");
    expect([await primary.hits(), await backup.hits()]).toEqual([1, 0]);
  });

  it("replays a PUT whose body is exactly max_replay_body_bytes", async () => {
    const { primary, backup, worker } = await primaryAndBackup({ max_replay_body_bytes: 10 });
    await primary.behave({ kind: "fixed", status: 503 });
    const response = await worker.fetch(new Request("https://www.example.com/doc", { method: "PUT", body: "x".repeat(10), headers: { "content-length": "10" } }));
    expect(response.status).toBe(200);
    expect((await backup.requests())[0]?.bodyBytes).toBe(10);
  });

  it("sends a PUT one byte over max_replay_body_bytes once", async () => {
    const { primary, backup, worker } = await primaryAndBackup({ max_replay_body_bytes: 10 });
    await primary.behave({ kind: "fixed", status: 503 });
    const response = await worker.fetch(new Request("https://www.example.com/doc", { method: "PUT", body: "x".repeat(11), headers: { "content-length": "11" } }));
    expect(response.status).toBe(503);
    expect((await primary.requests())[0]?.bodyBytes).toBe(11);
    expect(await backup.hits()).toBe(0);
  });
});

describe("the request deadline", () => {
  it("is checked between attempts: once it has passed, no other origin is tried", async () => {
    const { primary, backup, worker } = await primaryAndBackup({ origin_timeout_ms: 1_000, deadline_ms: 1_000 });
    await primary.behave({ kind: "hang" });
    const pending = worker.fetch(get());
    await expect.poll(() => primary.hits()).toBe(1);
    worker.clock.advance(1_000);
    const response = await pending;
    expect(response.status).toBe(504);
    const body = (await response.json()) as { error: { attempts: Array<{ origin: string; outcome: string }> } };
    expect(body.error.attempts.map((a) => `${a.origin}:${a.outcome}`)).toEqual(["primary:timeout"]);
    expect(await backup.hits()).toBe(0);
  });
});

describe("origin statuses outside 200-599", () => {
  afterEach(() => vi.restoreAllMocks());

  it("answers 502 JSON naming the status, and logs it once", async () => {
    const origin = await createOrigin("odd", { kind: "fixed", status: 999, body: "nine nine nine" });
    const worker = createTestWorker(testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "odd", address: origin.url }] }]) }));
    const lines: string[] = [];
    for (const method of ["log", "warn", "error"] as const) vi.spyOn(console, method).mockImplementation((line: unknown) => void lines.push(String(line)));
    const response = await worker.fetch(get());
    expect(response.status).toBe(502);
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = (await response.json()) as { error: { code: string; message: string; attempts: unknown[] } };
    expect(body.error.code).toBe("origin_invalid_status");
    expect(body.error.message).toContain("999");
    expect(body.error.attempts).toEqual([{ pool: "main", origin: "odd", outcome: "invalid_status", status: 999, elapsed_ms: expect.any(Number) }]);
    expect(lines.filter((line) => line.includes("999"))).toHaveLength(1);
    expect(lines.filter((line) => line.includes("unhandled_error"))).toEqual([]);
    expect(await origin.hits()).toBe(1);
  });

  it("tries the backup when the primary answers 999", async () => {
    const { primary, backup, worker } = await primaryAndBackup();
    await primary.behave({ kind: "fixed", status: 999 });
    const response = await worker.fetch(get());
    expect(response.status).toBe(200);
    expect(originOf(response)).toBe("backup");
    expect([await primary.hits(), await backup.hits()]).toEqual([1, 1]);
  });
});

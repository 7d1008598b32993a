// Failover and passive health against real origin servers, with the clock stepped by the test.
import { describe, expect, it } from "vitest";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin, type TestOrigin } from "../helpers/origins.ts";
import { createTestWorker, siteConfig, testEnv } from "../helpers/worker.ts";

const get = (path = "/") => new Request(`https://www.example.com${path}`);

async function primaryAndBackup(route: Partial<OutpostConfigInput["routes"][number]> = {}, breaker = { consecutive_failures: 2, open_seconds: 30 }) {
  const primary = await createOrigin("primary");
  const backup = await createOrigin("backup");
  const config = siteConfig(
    [
      { name: "primary", circuit_breaker: breaker, origins: [{ name: "primary", address: primary.url }] },
      { name: "backup", circuit_breaker: breaker, origins: [{ name: "backup", address: backup.url }] },
    ],
    route,
  );
  return { primary, backup, worker: createTestWorker(testEnv({ OUTPOST: config })) };
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

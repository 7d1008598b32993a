// What OriginHealth hands to shared health: circuits opened by connection failures (only when they
// open), and the pool's demotions, which order an origin last until they end.
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { poolSchema } from "../../../src/config/schema.ts";
import { OriginHealth } from "../../../src/health/origin-health.ts";
import { TestClock } from "../../helpers/worker.ts";

const pool = z.parse(poolSchema, {
  name: "main",
  circuit_breaker: { consecutive_failures: 2, open_seconds: 30 },
  origins: [{ name: "a", address: "https://a.example.com" }],
});
const ref = { pool, origin: pool.origins[0]! };

describe("OriginHealth and shared health", () => {
  it("hands over a circuit once, when connection failures open it, never for error statuses", () => {
    const health = new OriginHealth(new TestClock());
    health.recordConnectionFailure(ref);
    expect(health.takeOpenedCircuits()).toEqual([]);
    health.recordConnectionFailure(ref);
    expect(health.takeOpenedCircuits()).toEqual([ref]);
    expect(health.takeOpenedCircuits()).toEqual([]);
    health.recordConnectionFailure(ref); // already open: nothing new to tell
    expect(health.takeOpenedCircuits()).toEqual([]);

    const statuses = new OriginHealth(new TestClock());
    for (let i = 0; i < 50; i += 1) statuses.recordErrorStatus(ref, `/p${i}`);
    expect(statuses.breakerState(ref).kind).toBe("open");
    expect(statuses.takeOpenedCircuits()).toEqual([]);
  });

  it("orders a demoted origin as unavailable until the demotion ends", () => {
    const clock = new TestClock();
    const health = new OriginHealth(clock);
    health.adoptDemotions("main", { "a@https://a.example.com": clock.now() + 5_000 });
    expect(health.isAvailable(ref)).toBe(false);
    clock.advance(5_000);
    expect(health.isAvailable(ref)).toBe(true);
    health.adoptDemotions("main", { "a@https://other.example.com": clock.now() + 5_000 }); // another address: another origin
    expect(health.isAvailable(ref)).toBe(true);
  });
});

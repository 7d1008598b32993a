// Runs the worker the way the runtime does, with a test env built from a config object (so every
// test states the configuration it relies on), an injected clock and random source, and a handle
// on background work.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp, createDeps } from "../../src/app.ts";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import type { OutpostEnv } from "../../src/env.ts";
import { timeoutError, type Clock, type ClockTimeout } from "../../src/lib/clock.ts";
import { runScheduled } from "../../src/scheduled/run-scheduled.ts";

/** Time moves only when the test says so; timers started on it fire inside advance(), in order. */
export class TestClock implements Clock {
  private nowMs: number;
  private timers: Array<{ at: number; fire: () => void }> = [];
  constructor(startMs = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.nowMs = startMs;
  }
  now(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
    const due = this.timers.filter((timer) => timer.at <= this.nowMs).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((timer) => timer.at > this.nowMs);
    for (const timer of due) timer.fire();
  }
  timeout(ms: number, message?: string): ClockTimeout {
    const controller = new AbortController();
    const fire = () => controller.abort(timeoutError(message));
    if (ms <= 0) {
      fire();
      return { signal: controller.signal, cancel: () => {} };
    }
    const timer = { at: this.nowMs + ms, fire };
    this.timers.push(timer);
    return { signal: controller.signal, cancel: () => (this.timers = this.timers.filter((t) => t !== timer)) };
  }
  /** Timers started and not yet fired or cancelled (a test can wait for one to be armed). */
  pendingTimers(): number {
    return this.timers.length;
  }
}

export function testEnv(overrides: Partial<OutpostEnv> & { OUTPOST?: OutpostConfigInput | unknown }): OutpostEnv {
  return { ...(env as unknown as OutpostEnv), OUTPOST_ORIGINS: undefined, ...overrides } as OutpostEnv;
}

/** A config with one catch-all route "site" over the given pools, in order. */
export function siteConfig(pools: OutpostConfigInput["pools"], route: Partial<OutpostConfigInput["routes"][number]> = {}): OutpostConfigInput {
  return {
    pools,
    routes: [{ name: "site", hosts: ["*"], path: "/*", default_pools: pools.map((pool) => pool.name), ...route }],
  };
}

/** One worker isolate: its app, breakers and snapshot cache persist across calls. */
/** `logSample` defaults to never logging requests (1 is never below a sample rate); pass () => 0 to log all. */
export function createTestWorker(workerEnv: OutpostEnv, options: { clock?: TestClock; random?: () => number; logSample?: () => number } = {}) {
  const clock = options.clock ?? new TestClock();
  const deps = createDeps(clock, options.random ?? (() => 0), options.logSample ?? (() => 1));
  const app = createApp(deps);
  return {
    clock,
    deps,
    health: deps.health,
    async fetch(request: Request): Promise<Response> {
      const ctx = createExecutionContext();
      const response = await app.fetch(request, workerEnv, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    },
    async scheduled(cron = "* * * * *"): Promise<void> {
      const ctx = createExecutionContext();
      await runScheduled(createScheduledController({ scheduledTime: clock.now(), cron }), workerEnv, ctx, deps);
      await waitOnExecutionContext(ctx);
    },
  };
}

/** A single request through a fresh isolate. */
export async function callWorker(request: Request, workerEnv: OutpostEnv, clock: TestClock = new TestClock()): Promise<Response> {
  return createTestWorker(workerEnv, { clock }).fetch(request);
}

// Calls the worker the way the runtime does, with a test env built from a config object, so every
// test states the configuration it relies on.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../src/app.ts";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import type { OutpostEnv } from "../../src/env.ts";
import type { Clock } from "../../src/lib/clock.ts";

export class TestClock implements Clock {
  private nowMs: number;
  constructor(startMs = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.nowMs = startMs;
  }
  now(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
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

export async function callWorker(request: Request, workerEnv: OutpostEnv, clock: Clock = new TestClock()): Promise<Response> {
  const app = createApp({ clock });
  const ctx = createExecutionContext();
  const response = await app.fetch(request, workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

// The Hono app: the reserved admin prefix, the catch-all proxy pipeline, and the one error boundary
// that turns every thrown error into a JSON response.
import { Hono } from "hono";
import { CacheState } from "./cache/cache-state.ts";
import { OriginHealth } from "./health/origin-health.ts";
import { systemClock } from "./lib/clock.ts";
import { errorResponse, OutpostError } from "./lib/errors.ts";
import { describeError, logEvent } from "./lib/log.ts";
import { handleRequest, type PipelineDeps } from "./pipeline/handle-request.ts";
import type { OutpostEnv } from "./env.ts";

/** One set per isolate: the app (and so its circuit breakers) lives as long as the isolate. */
export function defaultDeps(): PipelineDeps {
  return { clock: systemClock, random: Math.random, health: new OriginHealth(systemClock), cacheState: new CacheState() };
}

/** Reserved for the admin API; requests under it are never forwarded to an origin. */
export const ADMIN_PREFIX = "/__outpost";

export function createApp(deps: PipelineDeps = defaultDeps()) {
  const app = new Hono<{ Bindings: OutpostEnv }>();

  app.all(`${ADMIN_PREFIX}/*`, () => {
    throw new OutpostError(404, "admin_disabled", "The admin API is closed");
  });

  // Hono types its context with its own ExecutionContext; at run time it is the runtime's.
  app.all("*", (c) => handleRequest(c.req.raw, c.env, c.executionCtx as ExecutionContext, deps));

  app.onError((error) => {
    if (error instanceof OutpostError) return errorResponse(error);
    logEvent("error", "unhandled_error", { error: describeError(error), stack: error instanceof Error ? error.stack : undefined });
    return errorResponse(new OutpostError(500, "internal_error", "Outpost failed to handle this request"));
  });

  return app;
}

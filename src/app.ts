// The Hono app: the reserved admin prefix (admin/admin-app.ts), the catch-all proxy pipeline, and the
// one error boundary that turns every thrown error into a JSON response. Every proxied request is
// traced and finished (Server-Timing, request id, log line, counters) here, whatever its outcome.
import { Hono } from "hono";
import { createAdminApp, DEFAULT_ADMIN_PREFIX, isAdminPath } from "./admin/admin-app.ts";
import { CacheState } from "./cache/cache-state.ts";
import { loadConfig } from "./config/load-config.ts";
import { OriginHealth } from "./health/origin-health.ts";
import { systemClock, type Clock } from "./lib/clock.ts";
import { errorResponse, OutpostError } from "./lib/errors.ts";
import { describeError, logEvent } from "./lib/log.ts";
import { finishRequest } from "./observe/finish-request.ts";
import { RequestStats } from "./observe/request-stats.ts";
import { requestIdFor, RequestTrace } from "./observe/request-trace.ts";
import { handleRequest, type PipelineDeps } from "./pipeline/handle-request.ts";
import { PurgeState } from "./purge/purge-state.ts";
import { observabilitySchema } from "./config/schema.ts";
import type { OutpostEnv } from "./env.ts";

/** One set per isolate: the app (and so its circuit breakers, ledger and counters) lives as long as the isolate. */
export function createDeps(clock: Clock = systemClock, random: () => number = Math.random, logSample: () => number = Math.random): PipelineDeps {
  return {
    clock,
    random,
    logSample,
    health: new OriginHealth(clock),
    cacheState: new CacheState(),
    purges: new PurgeState(clock),
    stats: new RequestStats(clock.now()),
  };
}

/** The observability settings when the configuration is broken (its requests are still traced). */
const DEFAULT_OBSERVABILITY = observabilitySchema.parse({});

function responseForError(error: unknown): Response {
  if (error instanceof OutpostError) return errorResponse(error);
  logEvent("error", "unhandled_error", { error: describeError(error), stack: error instanceof Error ? error.stack : undefined });
  return errorResponse(new OutpostError(500, "internal_error", "Outpost failed to handle this request"));
}

export function createApp(deps: PipelineDeps = createDeps()) {
  const app = new Hono<{ Bindings: OutpostEnv }>();
  const admin = createAdminApp(deps);

  // Hono types its context with its own ExecutionContext; at run time it is the runtime's.
  app.all("*", async (c) => {
    const request = c.req.raw;
    const exec = c.executionCtx as ExecutionContext;
    const loaded = loadConfig(c.env);
    if (isAdminPath(c.req.path, loaded.ok ? loaded.config.adminPrefix : DEFAULT_ADMIN_PREFIX)) return admin.fetch(request, c.env, exec);

    const trace = new RequestTrace(deps.clock, requestIdFor(request));
    let response: Response;
    try {
      response = await handleRequest(request, c.env, exec, deps, trace);
    } catch (error) {
      response = responseForError(error);
    }
    const observability = loaded.ok ? loaded.config.observability : DEFAULT_OBSERVABILITY;
    return finishRequest({ request, response, trace, stats: deps.stats, observability, sample: deps.logSample, analytics: c.env.OUTPOST_ANALYTICS });
  });

  app.onError(responseForError);
  return app;
}

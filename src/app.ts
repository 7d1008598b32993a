// The worker's front door: the reserved admin prefix goes to the admin app (admin/admin-app.ts),
// everything else to the proxy pipeline inside the one error boundary that turns every thrown error
// into a JSON response. Every proxied request is traced and finished (Server-Timing, request id, log
// line, counters) here, whatever its outcome.
import { adminPrefixOf, classifyAdminPath, createAdminApp } from "./admin/admin-app.ts";
import { CacheState } from "./cache/cache-state.ts";
import { ShieldCircuits } from "./coordination/shield-client.ts";
import { loadConfig } from "./config/load-config.ts";
import { OriginHealth } from "./health/origin-health.ts";
import { systemClock, type Clock } from "./lib/clock.ts";
import { errorResponse, OutpostError } from "./lib/errors.ts";
import { normalizeRequestUrl } from "./lib/hosts.ts";
import { describeError, logEvent } from "./lib/log.ts";
import { finishRequest } from "./observe/finish-request.ts";
import { RequestStats } from "./observe/request-stats.ts";
import { requestIdFor, RequestTrace } from "./observe/request-trace.ts";
import { handleRequest } from "./pipeline/handle-request.ts";
import type { PipelineDeps } from "./pipeline/types.ts";
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
    stats: new RequestStats(),
    shields: new ShieldCircuits(),
  };
}

/** The observability settings when the configuration is broken (its requests are still traced). */
const DEFAULT_OBSERVABILITY = observabilitySchema.parse({});

function responseForError(error: unknown): Response {
  if (error instanceof OutpostError) return errorResponse(error);
  logEvent("error", "unhandled_error", { error: describeError(error), stack: error instanceof Error ? error.stack : undefined });
  return errorResponse(new OutpostError(500, "internal_error", "Outpost failed to handle this request"));
}

export interface OutpostApp {
  fetch(request: Request, env: OutpostEnv, exec: ExecutionContext): Promise<Response>;
}

/**
 * Requests under the admin prefix go to the admin app (Hono: routes, bearer auth, body limits, its
 * own error boundary). Every other request goes straight to the pipeline, with no router in front:
 * the proxy has one route, and a router's dispatch cost ~4% of a hot-tier hit's CPU in the profile.
 */
export function createApp(deps: PipelineDeps = createDeps()): OutpostApp {
  const admin = createAdminApp(deps);
  return {
    fetch: async (received, env, exec) => {
      deps.stats.noteRequest(deps.clock.now());
      const loaded = loadConfig(env);
      const receivedUrl = new URL(received.url);
      const place = classifyAdminPath(receivedUrl.pathname, adminPrefixOf(loaded));
      if (place === "admin") {
        try {
          return await admin.fetch(received, env, exec);
        } catch (error) {
          return responseForError(error);
        }
      }
      if (place === "disguised") {
        const refused = errorResponse(new OutpostError(400, "invalid_request", `Admin paths are matched exactly: write ${adminPrefixOf(loaded)}/... without encoding, other case or repeated slashes`));
        return received.method === "HEAD" ? new Response(null, refused) : refused;
      }
      // The host in one spelling for routes, keys, purges and invalidation (lib/hosts.ts).
      const url = normalizeRequestUrl(receivedUrl);
      const request = url === receivedUrl ? received : new Request(url.href, received);

      const trace = new RequestTrace(deps.clock, requestIdFor(request));
      let response: Response;
      try {
        response = await handleRequest(request, url, loaded, env, exec, deps, trace);
      } catch (error) {
        response = responseForError(error);
        // An answer to HEAD has no content (RFC 9110 §9.3.2), errors included.
        if (request.method === "HEAD") response = new Response(null, response);
      }
      const observability = loaded.ok ? loaded.config.observability : DEFAULT_OBSERVABILITY;
      return finishRequest({ request, url, response, trace, stats: deps.stats, observability, sample: deps.logSample, analytics: env.OUTPOST_ANALYTICS });
    },
  };
}

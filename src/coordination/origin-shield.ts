// The origin shield: one Durable Object per pool shard (shield-client.ts picks the shard by the
// key's hash) that every location's fills for that pool go through. It is Outpost's own pipeline,
// not a copy: the same lookup (KV and the Cache API of the shield's location), the same storability
// and safety rules, the same collapsing of concurrent fills (one origin request per key however
// many locations ask), the same failover, steered to the pools the location chose. The fill's
// answer streams to the location that led it while a copy is stored (KV included: the shield is the
// KV writer for its pools), and to every location that waits for it as the copy fills
// (cache/fill-broadcast.ts; a body without a declared length, or content-coded, reaches waiters once
// stored). Past the fill budget, or when the answer may not be stored, each waiter's request is
// fetched from the origin for itself, by the shield.
//
// What a shield does not do: pass another location's Set-Cookie (collapsed waiters get the stored
// copy, which never has one), serve an authenticated request from or into another's fill, or act
// on anything but GET and HEAD. Its purge ledger is its own; a location that knows a newer purge
// says so (SHIELD_PURGES_HEADER) and the shield then skips its own lookup for that request until
// its ledger catches up (serve-with-cache.ts), so a purge never comes back through the shield.
//
// All OriginShield objects of an isolate share one set of dependencies (cache state, fill budget,
// ledger), separate from the worker's: their memory is bounded once per isolate, and a location's
// fill leader waiting on its shield in the same isolate never finds its own fill in flight.
import { DurableObject } from "cloudflare:workers";
import { createDeps } from "../app.ts";
import { loadConfig } from "../config/load-config.ts";
import type { OutpostEnv } from "../env.ts";
import { errorResponse, OutpostError } from "../lib/errors.ts";
import { normalizeRequestUrl } from "../lib/hosts.ts";
import { onePerEnv } from "../lib/per-env.ts";
import { describeError, logEvent } from "../lib/log.ts";
import { RequestTrace } from "../observe/request-trace.ts";
import { handleRequest } from "../pipeline/handle-request.ts";
import type { PipelineDeps, PipelineEnv } from "../pipeline/types.ts";
import type { CacheStatus } from "../cache/cache-status.ts";
import type { AttemptRecord } from "../origin/fetch-with-failover.ts";
import { SHIELD_COLO, SHIELD_COUNTRY_HEADER, SHIELD_OUTCOME_HEADER, SHIELD_POOLS_HEADER, SHIELD_TAGS_HEADER, type ShieldOutcome } from "./shield-protocol.ts";

/** The in-flight cap when the pool named by the request is unknown (a config change under way). */
const DEFAULT_MAX_IN_FLIGHT = 500;
/** What the shield answers with itself is never the origin's: not stored, not passed on as content. */
const ORIGIN_FAILURE_CODES = new Set(["origin_unreachable", "origin_timeout", "origin_invalid_status"]);

let shieldDeps: PipelineDeps | undefined;

/** The env as a shield sees it: no shield binding (a shield never asks a shield), and the shield role. */
const shieldEnvOf = onePerEnv((env: PipelineEnv): PipelineEnv => ({ ...env, OUTPOST_SHIELD: undefined, OUTPOST_SHIELD_ROLE: true }));

export class OriginShield extends DurableObject<OutpostEnv> {
  private inFlight = 0;

  override async fetch(request: Request): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") return answer("error", new Response(null, { status: 405 }));
    const env = shieldEnvOf(this.env);
    const loaded = loadConfig(env);
    const pool = loaded.ok ? loaded.config.pools.get(request.headers.get(SHIELD_POOLS_HEADER)?.split(",")[0] ?? "") : undefined;
    if (this.inFlight >= (pool?.shield?.max_in_flight ?? DEFAULT_MAX_IN_FLIGHT)) return answer("overloaded", new Response(null, { status: 503 }));

    this.inFlight += 1;
    const deps = (shieldDeps ??= createDeps());
    const trace = new RequestTrace(deps.clock, "shield");
    const exec = { waitUntil: (work: Promise<unknown>) => this.ctx.waitUntil(work), passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    try {
      const url = normalizeRequestUrl(new URL(request.url));
      const response = await handleRequest(asLocationSaw(request, url), url, loaded, env, exec, deps, trace);
      // Cache-Status and Outpost-Upstream are the location's to set for its client.
      response.headers.delete("cache-status");
      response.headers.delete("outpost-upstream");
      if (trace.cacheTags) response.headers.set(SHIELD_TAGS_HEADER, JSON.stringify(trace.cacheTags));
      return answer(outcomeOf(trace.cacheStatus), response);
    } catch (error) {
      if (error instanceof OutpostError && ORIGIN_FAILURE_CODES.has(error.code)) {
        return answer("origin-failed", Response.json({ attempts: attemptsOf(error, pool?.name) }, { status: error.status }));
      }
      logEvent("error", "origin_shield_failed", { error: describeError(error) });
      return answer("error", errorResponse(error instanceof OutpostError ? error : new OutpostError(500, "internal_error", "The origin shield failed")));
    } finally {
      this.inFlight -= 1;
    }
  }
}

/**
 * The request with the request.cf the pipeline reads at a shield: the visitor's country the location
 * sent (a route's key may include it), and the colo the shield reports as (purge receipts).
 */
function asLocationSaw(request: Request, url: URL): Request {
  const country = request.headers.get(SHIELD_COUNTRY_HEADER) ?? undefined;
  return new Request(url.href, { method: request.method, headers: request.headers, cf: { colo: SHIELD_COLO, ...(country && { country }) } });
}

function answer(outcome: ShieldOutcome, response: Response): Response {
  response.headers.set(SHIELD_OUTCOME_HEADER, outcome);
  return response;
}

function outcomeOf(status: CacheStatus | undefined): ShieldOutcome {
  if (status?.hit) return status.detail?.includes("stale") ? "stale" : "hit";
  return status?.collapsed ? "collapsed" : "miss";
}

/** The shield's attempts as the location records them (upstreamFailure's details), or one naming the shield. */
function attemptsOf(error: OutpostError, pool = "unknown"): AttemptRecord[] {
  const listed = error.details.attempts;
  if (!Array.isArray(listed) || listed.length === 0) return [{ pool, origin: "shield", outcome: "connect_error", status: error.details.status as number | undefined, elapsedMs: 0 }];
  return (listed as Array<{ pool: string; origin: string; outcome: AttemptRecord["outcome"]; status?: number; elapsed_ms: number }>).map((a) => ({
    pool: a.pool,
    origin: a.origin,
    outcome: a.outcome,
    status: a.status,
    elapsedMs: a.elapsed_ms,
  }));
}

// Tries the candidate origins in order until one answers acceptably. Each attempt's result feeds
// the origin's circuit breaker (a connection failure or timeout, an error status on a path, or a
// success; see health/breaker.ts). Outcomes are values, never exceptions: the caller decides what a
// failure looks like to the client.
import type { CompiledRoute } from "../config/validate-config.ts";
import type { OriginHealth } from "../health/origin-health.ts";
import type { Clock } from "../lib/clock.ts";
import { logEvent } from "../lib/log.ts";
import type { Candidate } from "../steering/select-pools.ts";
import { attemptOrigin, type AttemptOutcome } from "./attempt-origin.ts";
import { buildUpstreamRequest } from "./build-upstream-request.ts";

export interface AttemptRecord {
  pool: string;
  origin: string;
  outcome: AttemptOutcome["kind"] | "retryable_status" | "invalid_status";
  status?: number;
  elapsedMs: number;
}

export type FailoverResult =
  | { kind: "response"; response: Response; candidate: Candidate; attempts: AttemptRecord[] }
  | { kind: "failed"; attempts: AttemptRecord[]; clientAborted: boolean };

export interface FailoverDeps {
  clock: Clock;
  health: OriginHealth;
}

/**
 * How one attempt's upstream request is built. The default is the proxied request
 * (buildUpstreamRequest) with the client's signal attached; a WebSocket handshake builds its own
 * and detaches the client (the socket outlives the handshake request).
 */
export interface UpstreamBuilder {
  build(origin: Candidate["origin"], body: ReadableStream | ArrayBuffer | null, signal: AbortSignal): Request;
  attachClient: boolean;
}

/**
 * A final status fetch can deliver and a Response can carry: 200-599, and 101 (a WebSocket upgrade).
 * fetch never returns the other 1xx (RFC 9110 §15.2: interim); an origin that sends 600-999 (Node
 * servers can) breaks HTTP, and `new Response` would throw a RangeError for it: answered as a failed
 * attempt instead.
 */
export function isDeliverableStatus(status: number): boolean {
  return (status >= 200 && status <= 599) || status === 101;
}

/** Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

interface PreparedBody {
  body: ReadableStream | ArrayBuffer | null;
  /** Whether the request may be sent to a second origin after reaching a first. */
  replayable: boolean;
}

/**
 * Non-idempotent requests are sent once: workerd reports a refused connection and a reset one
 * alike, so Outpost cannot prove a POST never reached the origin. Idempotent requests with a small
 * body (by Content-Length) are buffered so they can be replayed; larger ones stream, once.
 */
async function prepareBody(request: Request, route: CompiledRoute): Promise<PreparedBody> {
  const idempotent = IDEMPOTENT_METHODS.has(request.method);
  if (request.method === "GET" || request.method === "HEAD" || request.body === null) return { body: null, replayable: idempotent };
  if (!idempotent) return { body: request.body, replayable: false };
  const declaredLength = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declaredLength <= route.max_replay_body_bytes) return { body: await request.arrayBuffer(), replayable: true };
  return { body: request.body, replayable: false };
}

export async function fetchWithFailover(
  request: Request,
  route: CompiledRoute,
  candidates: Candidate[],
  { clock, health }: FailoverDeps,
  upstream: UpstreamBuilder = { build: (origin, body, signal) => buildUpstreamRequest(request, origin, body, signal), attachClient: true },
): Promise<FailoverResult> {
  const attempts: AttemptRecord[] = [];
  const { body, replayable } = await prepareBody(request, route);
  // The deadline bounds the time to response headers over all attempts; each attempt's timer
  // enforces what is left of it, so the body can stream for as long as it takes afterwards.
  const deadlineAt = clock.now() + route.deadline_ms;
  const path = new URL(request.url).pathname;
  for (const [index, candidate] of candidates.entries()) {
    if (attempts.length > 0 && (!replayable || clock.now() >= deadlineAt)) break;
    const isLastChance = index === candidates.length - 1 || !replayable;
    health.recordAttempt(candidate);
    const outcome = await attemptOrigin(
      (signal) => upstream.build(candidate.origin, body, signal),
      { timeoutMs: route.origin_timeout_ms, deadlineRemainingMs: deadlineAt - clock.now(), client: upstream.attachClient ? request.signal : undefined },
      clock,
    );
    const record: AttemptRecord = { pool: candidate.pool.name, origin: candidate.origin.name, outcome: outcome.kind, elapsedMs: outcome.elapsedMs };
    attempts.push(record);

    if (outcome.kind === "response") {
      const { response } = outcome;
      if (!isDeliverableStatus(response.status)) {
        health.recordErrorStatus(candidate, path);
        record.outcome = "invalid_status";
        record.status = response.status;
        await response.body?.cancel();
      } else if (!route.retry_on_statuses.includes(response.status)) {
        health.recordSuccess(candidate);
        return { kind: "response", response, candidate, attempts };
      } else {
        health.recordErrorStatus(candidate, path);
        record.status = response.status;
        // The last origin's 5xx is still the best answer there is: deliver it rather than a 502.
        if (isLastChance) return { kind: "response", response, candidate, attempts };
        record.outcome = "retryable_status";
        await response.body?.cancel();
      }
    } else if (outcome.kind === "connect_error" || outcome.kind === "timeout") {
      health.recordConnectionFailure(candidate);
    }
    if (record.outcome !== "response") {
      logEvent("warn", "origin_attempt_failed", {
        route: route.name,
        pool: candidate.pool.name,
        origin: candidate.origin.name,
        outcome: record.outcome,
        status: record.status,
        detail: outcome.kind === "connect_error" ? outcome.detail : undefined,
        elapsed_ms: outcome.elapsedMs,
      });
    }
    if (outcome.kind === "client_aborted") return { kind: "failed", attempts, clientAborted: true };
    if (outcome.kind === "deadline") break;
  }
  return { kind: "failed", attempts, clientAborted: false };
}

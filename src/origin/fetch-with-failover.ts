// Tries the route's candidate origins in order until one answers. Outcomes are values, never
// exceptions: the caller decides what a failure looks like to the client.
import type { CompiledRoute } from "../config/validate-config.ts";
import type { Clock } from "../lib/clock.ts";
import { logEvent } from "../lib/log.ts";
import type { Candidate } from "../pipeline/select-pools.ts";
import { attemptOrigin, type AttemptOutcome } from "./attempt-origin.ts";
import { buildUpstreamRequest, hasStreamedBody } from "./build-upstream-request.ts";

export interface AttemptRecord {
  pool: string;
  origin: string;
  outcome: Exclude<AttemptOutcome["kind"], "response"> | "response";
  elapsedMs: number;
}

export type FailoverResult =
  | { kind: "response"; response: Response; candidate: Candidate; attempts: AttemptRecord[] }
  | { kind: "failed"; attempts: AttemptRecord[]; clientAborted: boolean };

/** Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/** A request may go to a second origin only if repeating it is harmless and it can be sent again. */
function isReplayable(request: Request): boolean {
  return IDEMPOTENT_METHODS.has(request.method) && !hasStreamedBody(request);
}

export async function fetchWithFailover(
  request: Request,
  route: CompiledRoute,
  candidates: Candidate[],
  clock: Clock,
): Promise<FailoverResult> {
  const attempts: AttemptRecord[] = [];
  const deadline = new AbortController();
  const deadlineTimer = setTimeout(
    () => deadline.abort(new DOMException("request deadline passed", "TimeoutError")),
    route.deadline_ms,
  );
  try {
    for (const candidate of candidates) {
      if (attempts.length > 0 && !isReplayable(request)) break;
      const outcome = await attemptOrigin(
        (signal) => buildUpstreamRequest(request, candidate.origin, signal),
        route.origin_timeout_ms,
        { deadline: deadline.signal, client: request.signal },
        clock,
      );
      attempts.push({ pool: candidate.pool.name, origin: candidate.origin.name, outcome: outcome.kind, elapsedMs: outcome.elapsedMs });
      if (outcome.kind === "response") return { kind: "response", response: outcome.response, candidate, attempts };
      logEvent("warn", "origin_attempt_failed", {
        route: route.name,
        pool: candidate.pool.name,
        origin: candidate.origin.name,
        outcome: outcome.kind,
        detail: outcome.kind === "connect_error" ? outcome.detail : undefined,
        elapsed_ms: outcome.elapsedMs,
      });
      if (outcome.kind === "client_aborted") return { kind: "failed", attempts, clientAborted: true };
      if (outcome.kind === "deadline") break;
    }
    return { kind: "failed", attempts, clientAborted: false };
  } finally {
    clearTimeout(deadlineTimer);
  }
}

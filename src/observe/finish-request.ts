// The last step of every proxied request: Server-Timing and the request id on the response, one
// JSON log line (sampled), one Analytics Engine data point (when bound), and the isolate's counters.
// Nothing here may fail the request: the response is already decided.
import { formatCacheStatus } from "../cache/cache-status.ts";
import type { ObservabilityConfig } from "../config/schema.ts";
import { describeError, logEvent } from "../lib/log.ts";
import type { RequestStats } from "./request-stats.ts";
import type { RequestTrace } from "./request-trace.ts";

const REQUEST_ID_HEADER = "outpost-request-id";

interface FinishInput {
  request: Request;
  /** `request.url`, parsed once by the caller. */
  url: URL;
  response: Response;
  trace: RequestTrace;
  stats: RequestStats;
  observability: ObservabilityConfig;
  /** A draw in [0, 1): the request is logged when it falls below the sample rate. */
  sample: () => number;
  analytics: AnalyticsEngineDataset | undefined;
}

/**
 * Server-Timing (W3C): `memory;dur=0;desc="miss", kv;dur=2;desc="hit", total;dur=3`. Descriptions
 * are Outpost's own words or pool/origin names (letters, digits, "-", "_", "."): nothing to escape.
 */
export function serverTiming(trace: RequestTrace, totalMs: number): string {
  let value = "";
  for (const { name, durationMs, description } of trace.phases) value += `${name};dur=${durationMs}${description ? `;desc="${description}"` : ""}, `;
  return `${value}total;dur=${totalMs}`;
}

export function finishRequest({ request, url, response, trace, stats, observability, sample, analytics }: FinishInput): Response {
  const totalMs = trace.elapsedMs();
  const outcome = stats.count(trace.cacheStatus, response.status);
  try {
    const headers = response.headers;
    headers.set(REQUEST_ID_HEADER, trace.id);
    if (observability.server_timing) headers.set("server-timing", serverTiming(trace, totalMs));
  } catch {
    // a Response with immutable headers passes through unchanged
  }
  const sampled = observability.request_log_sample_rate > 0 && sample() < observability.request_log_sample_rate;
  if (!sampled && !analytics) return response;

  const cf = request.cf as { country?: string; colo?: string } | undefined;
  const originMs = trace.phases.find((phase) => phase.name === "origin")?.durationMs;
  if (sampled) {
    logEvent("info", "request", {
      id: trace.id,
      method: request.method,
      host: url.host,
      path: url.pathname,
      status: response.status,
      route: trace.route,
      pool: trace.pool,
      origin: trace.origin,
      cache: trace.cacheStatus ? formatCacheStatus(trace.cacheStatus) : undefined,
      country: cf?.country,
      colo: cf?.colo,
      ms: { total: totalMs, ...Object.fromEntries(trace.phases.map((phase) => [phase.name, phase.durationMs])) },
    });
  }
  if (analytics) {
    try {
      analytics.writeDataPoint({
        indexes: [trace.route ?? ""],
        blobs: [trace.route ?? "", trace.pool ?? "", trace.origin ?? "", outcome, cf?.country ?? "", cf?.colo ?? "", request.method, url.host],
        doubles: [response.status, totalMs, originMs ?? 0],
      });
    } catch (error) {
      logEvent("warn", "analytics_write_failed", { error: describeError(error) });
    }
  }
  return response;
}

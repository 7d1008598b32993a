// Active health checks, run by the cron trigger: probe every enabled origin of every pool that has
// a monitor, then write one snapshot to KV for every isolate to read. A healthy origin is probed again
// once its monitor's interval has passed (the cron fires every minute); an origin marked down is
// probed on every run, so a recovery (or a restart after the origin came back) shows within a minute.
import type { MonitorConfig, OriginConfig } from "../config/schema.ts";
import type { CompiledConfig } from "../config/validate-config.ts";
import type { Clock } from "../lib/clock.ts";
import { describeError, logEvent } from "../lib/log.ts";
import { buildProbeRequest } from "../origin/build-upstream-request.ts";
import {
  HEALTH_SNAPSHOT_EXPIRATION_SECONDS,
  HEALTH_SNAPSHOT_KEY,
  isHealthSnapshot,
  originKey,
  type HealthSnapshot,
  type OriginHealthEntry,
} from "./health-snapshot.ts";

/** Cron runs drift by a few seconds; without slack a 60 s monitor would probe every other minute. */
const CRON_SLACK_MS = 5_000;
/**
 * How long past its interval and its probes' time a verdict is still trusted: one cron period (a probe
 * that is due runs at the next minute's tick), which also covers the time a location takes to read the
 * new snapshot (KV cacheTtl 30 s + SNAPSHOT_MEMORY_MS). Older, it counts as unknown: the cron may have
 * stopped, or the snapshot is a previous run's (and unknown never demotes an origin).
 */
export const VERDICT_MARGIN_MS = 60_000;

/** When a verdict made at `checkedAt` stops being trusted. */
export function verdictStaleAt(checkedAt: number, monitor: MonitorConfig): number {
  const probesMs = monitor.timeout_ms * (1 + monitor.retries);
  return checkedAt + monitor.interval_seconds * 1000 + probesMs + VERDICT_MARGIN_MS;
}

export function matchesExpectedCodes(status: number, expected: string): boolean {
  return expected.split(",").some((raw) => {
    const code = raw.trim().toLowerCase();
    return code.endsWith("xx") ? Math.floor(status / 100) === Number(code[0]) : status === Number(code);
  });
}

interface ProbeResult {
  healthy: boolean;
  status?: number;
  failure?: string;
  latencyMs: number;
}

async function probeOnce(origin: OriginConfig, monitor: MonitorConfig, clock: Clock): Promise<ProbeResult> {
  const startedAt = clock.now();
  // The response is discarded at once, so a timeout that also ends the body is what we want here.
  const timer = clock.timeout(monitor.timeout_ms, "health check timed out");
  try {
    const response = await fetch(buildProbeRequest(origin, monitor, timer.signal));
    await response.body?.cancel();
    const healthy = matchesExpectedCodes(response.status, monitor.expected_codes);
    return { healthy, status: response.status, failure: healthy ? undefined : `unexpected status ${response.status}`, latencyMs: clock.now() - startedAt };
  } catch (error) {
    const failure = timer.signal.aborted ? `timeout after ${monitor.timeout_ms} ms` : describeError(error);
    return { healthy: false, failure, latencyMs: clock.now() - startedAt };
  } finally {
    timer.cancel();
  }
}

/** Healthy when any of 1 + retries probes succeeds. */
export async function probeOrigin(origin: OriginConfig, monitor: MonitorConfig, clock: Clock): Promise<ProbeResult> {
  let result = await probeOnce(origin, monitor, clock);
  for (let retry = 0; retry < monitor.retries && !result.healthy; retry += 1) result = await probeOnce(origin, monitor, clock);
  return result;
}

async function readPrevious(kv: KVNamespace): Promise<HealthSnapshot | undefined> {
  try {
    const value: unknown = await kv.get(HEALTH_SNAPSHOT_KEY, "json");
    return isHealthSnapshot(value) ? value : undefined;
  } catch (error) {
    logEvent("warn", "health_snapshot_read_failed", { error: describeError(error) });
    return undefined;
  }
}

export async function runHealthChecks(config: CompiledConfig, kv: KVNamespace, clock: Clock): Promise<HealthSnapshot> {
  const previous = await readPrevious(kv);
  const now = clock.now();
  const entries: Record<string, OriginHealthEntry> = {};
  const probes: Promise<void>[] = [];

  for (const pool of config.pools.values()) {
    const monitor = pool.monitor === undefined ? undefined : config.monitors.get(pool.monitor);
    if (!monitor) continue;
    const intervalMs = monitor.interval_seconds * 1000;
    for (const origin of pool.origins.filter((candidate) => candidate.enabled)) {
      const key = originKey(pool.name, origin.name);
      const last = previous?.origins[key];
      if (last?.healthy && last.address === origin.address && now - last.checkedAt < intervalMs - CRON_SLACK_MS) {
        entries[key] = last;
        continue;
      }
      probes.push(
        probeOrigin(origin, monitor, clock).then((result) => {
          entries[key] = { address: origin.address, checkedAt: now, staleAt: verdictStaleAt(now, monitor), ...result };
          if (last?.healthy !== result.healthy) {
            logEvent(result.healthy ? "info" : "warn", "origin_health_changed", {
              pool: pool.name,
              origin: origin.name,
              healthy: result.healthy,
              status: result.status,
              failure: result.failure,
            });
          }
        }),
      );
    }
  }
  await Promise.all(probes);

  const snapshot: HealthSnapshot = { version: 1, writtenAt: now, origins: entries };
  await kv.put(HEALTH_SNAPSHOT_KEY, JSON.stringify(snapshot), { expirationTtl: HEALTH_SNAPSHOT_EXPIRATION_SECONDS });
  const down = Object.entries(entries).filter(([, entry]) => !entry.healthy).map(([key]) => key);
  logEvent("info", "health_check_completed", { probed: probes.length, origins: Object.keys(entries).length, down });
  return snapshot;
}

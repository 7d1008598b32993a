// GET /__outpost/status: the configuration in force (no secrets: the admin token is never shown),
// every pool and origin with its health as this isolate sees it, and counters since the isolate
// started. Isolates are many and short-lived on Workers: counters describe the one that answered.
import { parsedHeaderMemoSize, PARSED_HEADERS_MAX_BYTES } from "../cache/entry.ts";
import type { CompiledConfig } from "../config/validate-config.ts";
import type { OriginHealth, OriginRef } from "../health/origin-health.ts";
import type { PipelineDeps, PipelineEnv } from "../pipeline/types.ts";

/** Epoch ms as the admin API writes times. */
export const iso = (at: number) => new Date(at).toISOString();

/** One origin as status and explain show it: the active check, the circuit, and the verdict. */
export function describeOrigin(ref: OriginRef, health: OriginHealth, now: number) {
  const check = health.lastCheck(ref);
  const circuit = health.breakerState(ref);
  return {
    origin: ref.origin.name,
    address: ref.origin.address,
    enabled: ref.origin.enabled,
    available: health.isAvailable(ref),
    // Demoted by the pool's health object: circuits opened in several locations (docs/coordination.md#shared-health).
    shared_demoted: health.isSharedDemoted(ref),
    health_check: check
      ? {
          // A verdict too old to trust is unknown, and unknown never demotes an origin.
          verdict: now >= check.staleAt ? "unknown" : check.healthy ? "healthy" : "down",
          healthy: check.healthy,
          checked_at: iso(check.checkedAt),
          trusted: now < check.staleAt,
          status: check.status,
          failure: check.failure,
          latency_ms: check.latencyMs,
        }
      : null,
    circuit:
      circuit.kind === "closed"
        ? {
            state: "closed",
            consecutive_failures: circuit.consecutiveFailures,
            // The error-status rule's window: answers, error statuses among them, distinct failing paths.
            status_window: circuit.window ? { started_at: iso(circuit.window.startedAt), answers: circuit.window.answers, errors: circuit.window.errors, error_paths: circuit.window.errorPaths.length } : null,
          }
        : circuit.kind === "open"
          ? { state: "open", opened_at: iso(circuit.openedAt) }
          : { state: "half_open" },
  };
}

export async function describeStatus(config: CompiledConfig, env: PipelineEnv & { OUTPOST_ADMIN_TOKEN?: string; OUTPOST_ANALYTICS?: unknown }, deps: PipelineDeps) {
  await deps.health.refresh(env.OUTPOST_CACHE);
  const now = deps.clock.now();
  const snapshot = deps.health.snapshotInfo();
  const { stats } = deps;
  const startedAt = stats.startedAt ?? now;
  const served = stats.outcomes.hit + stats.outcomes.stale + stats.outcomes.stale_if_error + stats.outcomes.collapsed;
  const lookedUp = served + stats.outcomes.miss;
  const ledger = deps.purges.ledger.describe();
  return {
    isolate: { started_at: iso(startedAt), uptime_seconds: Math.floor((now - startedAt) / 1000) },
    config: {
      cache_version: config.cacheVersion,
      cache_tiers: config.cacheTiers,
      admin: { path_prefix: config.adminPrefix, token: "set (never shown)" },
      observability: config.observability,
      bindings: { kv: env.OUTPOST_CACHE !== undefined, analytics_engine: env.OUTPOST_ANALYTICS !== undefined },
      routes: config.routes.map((route) => ({
        name: route.name,
        hosts: route.hosts,
        path: route.path,
        steering_policy: route.steering_policy,
        default_pools: route.default_pools,
        fallback_pool: route.fallback_pool ?? null,
        cache: route.cache,
      })),
    },
    health: {
      snapshot: snapshot ? { written_at: iso(snapshot.writtenAt), age_seconds: Math.floor((now - snapshot.writtenAt) / 1000), read_at: iso(snapshot.readAt) } : null,
      pools: [...config.pools.values()].map((pool) => ({
        name: pool.name,
        monitor: pool.monitor ?? null,
        origins: pool.origins.map((origin) => describeOrigin({ pool, origin }, deps.health, now)),
      })),
    },
    cache: {
      requests: stats.requests,
      errors_5xx: stats.errors,
      outcomes: stats.outcomes,
      hit_ratio: lookedUp === 0 ? null : Number((served / lookedUp).toFixed(4)),
      hits_by_tier: stats.hitsByTier,
      memory_tier: { ...deps.cacheState.memory.size, max_bytes: deps.cacheState.memory.capacityBytes },
      fill_budget: deps.cacheState.fills.usage,
      parsed_header_memo: { ...parsedHeaderMemoSize(), max_bytes: PARSED_HEADERS_MAX_BYTES },
    },
    purges: {
      recorded_by_this_isolate: deps.purges.purgeCount,
      ledger_read_at: Number.isFinite(deps.purges.lastReadAt) ? iso(deps.purges.lastReadAt) : null,
      ledger_items: ledger.items,
      everything_purged_at: ledger.everything[0] ? iso(ledger.everything[0]) : null,
      everything_soft_purged_at: ledger.everything[1] ? iso(ledger.everything[1]) : null,
      latest_purge_at: ledger.newestAt ? iso(ledger.newestAt) : null,
      // The purge coordinator (docs/coordination.md): the epoch applied here, calls made, failures that fell back to KV.
      coordinator: {
        enabled: config.coordination.purge_coordinator,
        bound: (env as { OUTPOST_PURGE_COORDINATOR?: unknown }).OUTPOST_PURGE_COORDINATOR !== undefined,
        poll_interval_ms: config.coordination.purge_poll_interval_ms,
        applied_epoch: deps.purges.applied.epoch,
        calls: deps.purges.coordinatorCalls,
        fallbacks: deps.purges.coordinatorFallbacks,
      },
    },
    // Shared health (docs/coordination.md#shared-health): object calls this isolate made and the failed ones (nothing changed).
    shared_health: {
      enabled: config.coordination.shared_health,
      bound: env.OUTPOST_POOL_HEALTH !== undefined,
      min_locations: config.coordination.shared_health_min_locations,
      poll_interval_ms: config.coordination.shared_health_poll_interval_ms,
      ...deps.health.sharedStats,
    },
    // Origin shield (docs/coordination.md#origin-shield): the shielded pools, fills the shields answered, and bypasses (this location fetched the origin itself).
    shield: {
      bound: env.OUTPOST_SHIELD !== undefined,
      pools: [...config.pools.values()].filter((pool) => pool.shield).map((pool) => pool.name),
      ...deps.shields.usage,
    },
  };
}

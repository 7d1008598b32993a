// Types every pipeline stage shares, so that the stages import one way: handle-request.ts calls
// the stages, the stages never import it.
import type { FoundResponse, VaryMarkerMeta } from "../cache/entry.ts";
import type { CacheState } from "../cache/cache-state.ts";
import type { TierName } from "../cache/tiered-store.ts";
import type { ConfigEnv } from "../config/load-config.ts";
import type { CompiledConfig, CompiledRoute } from "../config/validate-config.ts";
import type { OriginShield } from "../coordination/origin-shield.ts";
import type { PoolHealth } from "../coordination/pool-health.ts";
import type { ShieldCircuits } from "../coordination/shield-client.ts";
import type { OriginHealth } from "../health/origin-health.ts";
import type { Clock } from "../lib/clock.ts";
import type { RequestStats } from "../observe/request-stats.ts";
import type { RequestTrace } from "../observe/request-trace.ts";
import type { PurgeState } from "../purge/purge-state.ts";
import type { Random } from "../steering/weighted.ts";

export interface PipelineDeps {
  clock: Clock;
  /** Steering's random draws. */
  random: Random;
  /** Draws which requests are logged (observability.request_log_sample_rate). */
  logSample: Random;
  /** This isolate's view of origin health (circuit breakers + the shared health snapshot). */
  health: OriginHealth;
  /** This isolate's collapsed fills, refreshes in flight and KV write throttle. */
  cacheState: CacheState;
  /** This isolate's copy of the purge ledger. */
  purges: PurgeState;
  /** Counters since the isolate started. */
  stats: RequestStats;
  /** This isolate's origin shield shards that failed lately, and its shield counts. */
  shields: ShieldCircuits;
}

export interface PipelineEnv extends ConfigEnv {
  OUTPOST_CACHE?: KVNamespace;
  /** Shared health (coordination/pool-health.ts), when bound. */
  OUTPOST_POOL_HEALTH?: DurableObjectNamespace<PoolHealth>;
  /** The origin shield objects (coordination/origin-shield.ts), when bound. */
  OUTPOST_SHIELD?: DurableObjectNamespace<OriginShield>;
  /** Set only in the env an origin shield runs the pipeline with (origin-shield.ts shieldEnvOf), never by a binding. */
  OUTPOST_SHIELD_ROLE?: true;
}

export interface CacheRequest {
  request: Request;
  url: URL;
  route: CompiledRoute;
  config: CompiledConfig;
  env: PipelineEnv;
  exec: ExecutionContext;
  deps: PipelineDeps;
  trace: RequestTrace;
}

/**
 * What a lookup finds. `primaryKey` is the URL's key; `marker` the Vary marker stored there, if
 * any. A large entry from a storage tier is still streaming (StreamedResponse).
 */
export type Hit<Stored> = { kind: "hit"; stored: Stored; tier: TierName; primaryKey: string; marker?: VaryMarkerMeta };
export type Miss = { kind: "miss"; fwd: "miss" | "vary-miss"; primaryKey: string; marker?: VaryMarkerMeta; purged?: true };
export type Found = Hit<FoundResponse> | Miss;


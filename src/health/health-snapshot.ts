// Active health, as shared by every isolate: the cron health check writes one snapshot to KV; each
// isolate reads it (kept in memory briefly). The format is versioned so it can evolve.
export const HEALTH_SNAPSHOT_KEY = "outpost:health:v1";

export interface OriginHealthEntry {
  /** The address that was probed: an entry for another address (config changed) is ignored. */
  address: string;
  healthy: boolean;
  checkedAt: number;
  /** From this time the verdict is unknown (verdictStaleAt), and unknown never demotes an origin. */
  staleAt: number;
  status?: number;
  failure?: string;
  latencyMs: number;
}

export interface HealthSnapshot {
  version: 1;
  writtenAt: number;
  /** Keyed by `originKey(pool, origin)`. */
  origins: Record<string, OriginHealthEntry>;
}

export function originKey(poolName: string, originName: string): string {
  return `${poolName}/${originName}`;
}

export function isHealthSnapshot(value: unknown): value is HealthSnapshot {
  return typeof value === "object" && value !== null && (value as HealthSnapshot).version === 1 && typeof (value as HealthSnapshot).origins === "object";
}

/** KV keeps a snapshot a day at most: expiry is garbage collection, freshness is `staleAt`. */
export const HEALTH_SNAPSHOT_EXPIRATION_SECONDS = 24 * 60 * 60;

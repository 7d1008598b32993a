// What this isolate believes about each origin: its circuit breakers (passive health, isolate
// memory) and the last health snapshot read from KV (active health, shared). One instance per
// isolate, owned by the app. With shared health (coordination.shared_health), also the demotions
// the pool health objects answered (coordination/pool-health.ts) and the circuits opened here that
// are still to be reported to them.
import type { OriginConfig, PoolConfig } from "../config/schema.ts";
import type { Clock } from "../lib/clock.ts";
import { describeError, logEvent } from "../lib/log.ts";
import { CLOSED, isAdmitting, onAttempt, onConnectionFailure, onErrorStatus, onSuccess, type BreakerPolicy, type BreakerState } from "./breaker.ts";
import type { Demotions } from "../coordination/pool-health.ts";
import { HEALTH_SNAPSHOT_KEY, isHealthSnapshot, originKey, type HealthSnapshot, type OriginHealthEntry } from "./health-snapshot.ts";

/** How long an isolate keeps a snapshot before reading KV again. */
export const SNAPSHOT_MEMORY_MS = 10_000;
/** KV's own edge cache for the snapshot (its minimum). */
const SNAPSHOT_KV_CACHE_TTL_SECONDS = 30;

export interface OriginRef {
  pool: PoolConfig;
  origin: OriginConfig;
}

/** Includes the address, so a changed configuration starts with fresh circuits. */
function breakerKey({ pool, origin }: OriginRef): string {
  return `${originKey(pool.name, origin.name)}@${origin.address}`;
}

function breakerPolicy({ circuit_breaker: breaker }: PoolConfig): BreakerPolicy {
  return {
    consecutiveFailures: breaker.consecutive_failures,
    openMs: breaker.open_seconds * 1000,
    statusWindowMs: breaker.status_window_seconds * 1000,
    statusMinimumRequests: breaker.status_minimum_requests,
    statusFailureRatio: breaker.status_failure_ratio,
    statusMinimumPaths: breaker.status_minimum_paths,
  };
}

/** FNV-1a: a path kept as a number, so a breaker's state stays small whatever the paths are. */
export function hashPath(path: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < path.length; i += 1) hash = Math.imul(hash ^ path.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export class OriginHealth {
  private readonly breakers = new Map<string, BreakerState>();
  private snapshot: HealthSnapshot | undefined;
  private snapshotReadAt = Number.NEGATIVE_INFINITY;
  private pendingRead: Promise<void> | undefined;
  private readonly clock: Clock;
  /** Per pool name: the demotions last learned and when this isolate last checked (memo or object). */
  private readonly shared = new Map<string, { checkedAt: number; demoted: Demotions }>();
  /** Circuits opened by connection failures since the last report, by breaker key (bounded by the origins). */
  private readonly opened = new Map<string, OriginRef>();
  /** Shared health since the isolate started: object calls (polls and reports) and the ones that failed. */
  readonly sharedStats = { polls: 0, reports: 0, failures: 0 };

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Reads the shared snapshot when the copy in memory is older than SNAPSHOT_MEMORY_MS. Never throws. */
  async refresh(kv: KVNamespace | undefined): Promise<void> {
    if (!kv || this.clock.now() - this.snapshotReadAt < SNAPSHOT_MEMORY_MS) return;
    this.pendingRead ??= (async () => {
      try {
        const value: unknown = await kv.get(HEALTH_SNAPSHOT_KEY, { type: "json", cacheTtl: SNAPSHOT_KV_CACHE_TTL_SECONDS });
        this.snapshot = isHealthSnapshot(value) ? value : undefined;
      } catch (error) {
        // KV trouble must not take traffic down: keep what we had, or assume healthy.
        logEvent("warn", "health_snapshot_read_failed", { error: describeError(error) });
      } finally {
        this.snapshotReadAt = this.clock.now();
        this.pendingRead = undefined;
      }
    })();
    await this.pendingRead;
  }

  /** Takes a snapshot this isolate just wrote (the cron ran here), without waiting for KV. */
  adoptSnapshot(snapshot: HealthSnapshot): void {
    this.snapshot = snapshot;
    this.snapshotReadAt = this.clock.now();
  }

  /** For status and explain: the last health check of an origin, and when this isolate read the snapshot. */
  lastCheck({ pool, origin }: OriginRef): OriginHealthEntry | undefined {
    const entry = this.snapshot?.origins[originKey(pool.name, origin.name)];
    return entry?.address === origin.address ? entry : undefined;
  }

  snapshotInfo(): { writtenAt: number; readAt: number } | undefined {
    return this.snapshot ? { writtenAt: this.snapshot.writtenAt, readAt: this.snapshotReadAt } : undefined;
  }

  /** The active check's verdict, if a trustworthy one exists. */
  activeVerdict(ref: OriginRef): boolean | undefined {
    const entry = this.lastCheck(ref);
    if (!entry || this.clock.now() >= entry.staleAt) return undefined;
    return entry.healthy;
  }

  breakerState({ pool, origin }: OriginRef): BreakerState {
    return this.breakers.get(breakerKey({ pool, origin })) ?? CLOSED;
  }

  /** Neither marked down by the last health check, nor behind an open circuit, nor demoted by the pool's locations. */
  isAvailable(ref: OriginRef): boolean {
    if (this.activeVerdict(ref) === false) return false;
    const state = this.breakerState(ref);
    if (!isAdmitting(state, this.clock.now(), breakerPolicy(ref.pool))) return false;
    // This isolate's own circuit, its cool-down over, sends its one trial even to a demoted origin: a
    // failed trial re-opens the circuit and reports again, which keeps the origin demoted everywhere
    // while it stays down (a demotion lapses open_seconds after the reports stop); a successful one
    // closes it, and the demotion lapses for want of reports.
    if (state.kind !== "closed") return true;
    return !this.isSharedDemoted(ref);
  }

  /** Demoted by the pool health object: circuits opened in enough locations, recently. */
  isSharedDemoted({ pool, origin }: OriginRef): boolean {
    const until = this.shared.get(pool.name)?.demoted[`${origin.name}@${origin.address}`];
    return until !== undefined && this.clock.now() < until;
  }

  /** Whether this isolate should look at the pool's demotions again (at most once per interval). */
  isSharedCheckDue(pool: string, intervalMs: number): boolean {
    const checkedAt = this.shared.get(pool)?.checkedAt ?? Number.NEGATIVE_INFINITY;
    return this.clock.now() - checkedAt >= intervalMs || this.clock.now() < checkedAt;
  }

  /** The pool's demotions as just learned; undefined (the call failed) keeps what was known until it lapses. */
  adoptDemotions(pool: string, demoted: Demotions | undefined): void {
    this.shared.set(pool, { checkedAt: this.clock.now(), demoted: demoted ?? this.shared.get(pool)?.demoted ?? {} });
  }

  /** The circuits opened by connection failures since the last call, to report to the pools' objects. */
  takeOpenedCircuits(): OriginRef[] {
    const opened = [...this.opened.values()];
    this.opened.clear();
    return opened;
  }

  recordAttempt(ref: OriginRef): void {
    this.setBreaker(ref, onAttempt(this.breakerState(ref), this.clock.now(), breakerPolicy(ref.pool)));
  }

  /** The origin answered with a status that is not an error. */
  recordSuccess(ref: OriginRef): void {
    this.setBreaker(ref, onSuccess(this.breakerState(ref), this.clock.now(), breakerPolicy(ref.pool)));
  }

  /** A connection failure or timeout. */
  recordConnectionFailure(ref: OriginRef): void {
    const previous = this.breakerState(ref);
    const next = onConnectionFailure(previous, this.clock.now(), breakerPolicy(ref.pool));
    this.setBreaker(ref, next);
    // Only connection failures and timeouts are shared: error statuses may be one location's path mix.
    if (previous.kind !== "open" && next.kind === "open") this.opened.set(breakerKey(ref), ref);
  }

  /** An error status for `path` (the URL's path, without the query: busting it makes no new path). */
  recordErrorStatus(ref: OriginRef, path: string): void {
    this.setBreaker(ref, onErrorStatus(this.breakerState(ref), this.clock.now(), breakerPolicy(ref.pool), hashPath(path)));
  }

  private setBreaker(ref: OriginRef, next: BreakerState): void {
    const key = breakerKey(ref);
    const previous = this.breakers.get(key) ?? CLOSED;
    this.breakers.set(key, next);
    if (previous.kind !== next.kind) {
      logEvent(next.kind === "open" ? "warn" : "info", "circuit_state_changed", { pool: ref.pool.name, origin: ref.origin.name, from: previous.kind, to: next.kind });
    }
  }
}

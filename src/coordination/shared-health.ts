// Shared health on the forward path (pipeline/forward.ts), when coordination.shared_health is on and
// OUTPOST_POOL_HEALTH is bound: before ordering origins, learn the pools' demotions (at most once per
// interval per isolate, through the location's memo; the object is asked on the path only when the
// memo is older than two intervals); after the attempts, report the circuits that
// opened here in the background. A cache hit never gets here, so it makes no call. Every failure is
// counted and logged, never thrown: the isolate's circuits and the KV snapshot keep working.
import type { CoordinationConfig, PoolConfig } from "../config/schema.ts";
import type { OriginHealth } from "../health/origin-health.ts";
import type { Clock } from "../lib/clock.ts";
import { logEvent } from "../lib/log.ts";
import type { CoordinatorResult } from "./object-call.ts";
import type { Demotions } from "./pool-health.ts";
import { isSharedHealthOn, poolHealthFor, pollDemotions, readDemotionsMemo, reportCircuitOpened, sharedOriginKey, type PoolHealthEnv } from "./pool-health-client.ts";

export interface SharedHealthContext {
  env: PoolHealthEnv;
  coordination: CoordinationConfig;
  cacheVersion: string;
  exec: ExecutionContext;
  /** request.cf.colo of this location. */
  colo: unknown;
}

interface HealthDeps {
  health: OriginHealth;
  clock: Clock;
}

/**
 * Learns the demotions of `pools` that are due for a check (readDemotionsMemo says how: from the
 * location's memo, with the object asked in the background when the memo is aging, or on the path
 * when there is no usable memo). No call when shared health is off.
 */
export async function learnSharedDemotions(shared: SharedHealthContext | undefined, pools: PoolConfig[], deps: HealthDeps): Promise<void> {
  if (!shared || !isSharedHealthOn(shared.env, shared.coordination)) return;
  const interval = shared.coordination.shared_health_poll_interval_ms;
  const due = [...new Set(pools)].filter((pool) => deps.health.isSharedCheckDue(pool.name, interval));
  await Promise.all(
    due.map(async (pool) => {
      const stub = poolHealthFor(shared.env, shared.cacheVersion, pool.name);
      if (!stub) return;
      const cache = typeof caches === "undefined" ? undefined : caches.default;
      const source = { stub, cache, clock: deps.clock, cacheVersion: shared.cacheVersion, pool, coordination: shared.coordination, colo: coloOf(shared) };
      const memo = await readDemotionsMemo(source);
      if (memo.kind === "missing") return adoptPolled(pool, await pollDemotions(source), deps);
      // Adopting marks the pool checked, so this isolate's other misses start no second poll.
      deps.health.adoptDemotions(pool.name, memo.demoted);
      if (memo.kind === "aging") shared.exec.waitUntil(pollDemotions(source).then((polled) => adoptPolled(pool, polled, deps)));
    }),
  );
}

function adoptPolled(pool: PoolConfig, polled: CoordinatorResult<Demotions>, deps: HealthDeps): void {
  deps.health.sharedStats.polls += 1;
  if (!polled.ok) {
    deps.health.sharedStats.failures += 1;
    logEvent("warn", "pool_health_failed", { pool: pool.name, during: "poll", error: polled.error });
  }
  deps.health.adoptDemotions(pool.name, polled.ok ? polled.value : undefined);
}

/** Reports the circuits opened here since the last report, in the background (never on the request's path). */
export function reportOpenedCircuits(shared: SharedHealthContext | undefined, deps: HealthDeps): void {
  if (!shared || !isSharedHealthOn(shared.env, shared.coordination)) return;
  const opened = deps.health.takeOpenedCircuits();
  for (const { pool, origin } of opened) {
    const stub = poolHealthFor(shared.env, shared.cacheVersion, pool.name);
    if (!stub) continue;
    deps.health.sharedStats.reports += 1;
    shared.exec.waitUntil(
      reportCircuitOpened(stub, deps.clock, { origin: sharedOriginKey(origin), colo: coloOf(shared), at: deps.clock.now() }).then((result) => {
        if (result.ok) return;
        deps.health.sharedStats.failures += 1;
        logEvent("warn", "pool_health_failed", { pool: pool.name, origin: origin.name, during: "report", error: result.error });
      }),
    );
  }
}

function coloOf(shared: SharedHealthContext): string {
  return typeof shared.colo === "string" ? shared.colo : "unknown";
}

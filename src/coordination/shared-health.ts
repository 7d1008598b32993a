// Shared health on the forward path (pipeline/forward.ts), when coordination.shared_health is on and
// OUTPOST_POOL_HEALTH is bound: before ordering origins, learn the pools' demotions (at most once per
// interval per isolate, through the location's memo); after the attempts, report the circuits that
// opened here in the background. A cache hit never gets here, so it makes no call. Every failure is
// counted and logged, never thrown: the isolate's circuits and the KV snapshot keep working.
import type { CoordinationConfig, PoolConfig } from "../config/schema.ts";
import type { OriginHealth } from "../health/origin-health.ts";
import type { Clock } from "../lib/clock.ts";
import { logEvent } from "../lib/log.ts";
import { isSharedHealthOn, learnDemotions, poolHealthFor, reportCircuitOpened, sharedOriginKey, type PoolHealthEnv } from "./pool-health-client.ts";

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

/** Learns the demotions of `pools` that are due for a check. No call when shared health is off. */
export async function learnSharedDemotions(shared: SharedHealthContext | undefined, pools: PoolConfig[], deps: HealthDeps): Promise<void> {
  if (!shared || !isSharedHealthOn(shared.env, shared.coordination)) return;
  const interval = shared.coordination.shared_health_poll_interval_ms;
  const due = [...new Set(pools)].filter((pool) => deps.health.isSharedCheckDue(pool.name, interval));
  await Promise.all(
    due.map(async (pool) => {
      const stub = poolHealthFor(shared.env, shared.cacheVersion, pool.name);
      if (!stub) return;
      const cache = typeof caches === "undefined" ? undefined : caches.default;
      const learned = await learnDemotions({ stub, cache, clock: deps.clock, cacheVersion: shared.cacheVersion, pool, coordination: shared.coordination, colo: coloOf(shared) });
      if (learned.ok && learned.source === "object") deps.health.sharedStats.polls += 1;
      if (!learned.ok) {
        deps.health.sharedStats.polls += 1;
        deps.health.sharedStats.failures += 1;
        logEvent("warn", "pool_health_failed", { pool: pool.name, during: "poll", error: learned.error });
      }
      deps.health.adoptDemotions(pool.name, learned.ok ? learned.demoted : undefined);
    }),
  );
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

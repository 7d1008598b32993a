// What the worker asks the pool health objects (pool-health.ts), and the location memo that keeps
// polling to one call per pool per location per interval. Like purge-client.ts: every call is bounded
// by a timeout on the injected clock and never throws; a failed call is counted and changes nothing
// (the isolate's own circuits and the KV health snapshot keep working underneath).
//
// Staleness: an origin whose circuits opened in `shared_health_min_locations` colos is ordered last
// by every isolate with misses within about 2 x shared_health_poll_interval_ms plus one object round
// trip: an isolate looks once per interval at a memo less than an interval old, or at one less than
// two intervals old whose refresh it then adopts a round trip later.
import type { CoordinationConfig, PoolConfig } from "../config/schema.ts";
import type { Clock } from "../lib/clock.ts";
import { callCoordinator, putJson, readJson, type CoordinatorResult } from "./object-call.ts";
import type { CircuitOpened, DemotionQuery, Demotions, PoolHealth } from "./pool-health.ts";

/** The binding's name in wrangler.toml ([[durable_objects.bindings]]). */
export const POOL_HEALTH_BINDING = "OUTPOST_POOL_HEALTH";
/** The class the binding names, exported from the worker entry. */
export const POOL_HEALTH_CLASS = "PoolHealth";
/** A poll runs on a miss's path: slower than this, the isolate keeps what it knew. */
export const POOL_HEALTH_POLL_TIMEOUT_MS = 500;
/** A report runs in the background (waitUntil). */
export const POOL_HEALTH_REPORT_TIMEOUT_MS = 3_000;
const MEMO_URL_PREFIX = "https://outpost-cache.internal/__outpost/pool-health/v1/";

/** The object's methods as the worker calls them (RPC); spelled out so a test can stand in for a broken object. */
export interface PoolHealthStub {
  report(opened: CircuitOpened): Promise<void>;
  demotions(query: DemotionQuery): Promise<Demotions>;
}

export interface PoolHealthEnv {
  OUTPOST_POOL_HEALTH?: DurableObjectNamespace<PoolHealth>;
}

/** Whether shared health is on: the setting and the binding. Without either, no call is ever made. */
export function isSharedHealthOn(env: PoolHealthEnv, coordination: CoordinationConfig): boolean {
  return coordination.shared_health && env.OUTPOST_POOL_HEALTH !== undefined;
}

/** One object per pool and cache_version. */
export function poolHealthFor(env: PoolHealthEnv, cacheVersion: string, pool: string): PoolHealthStub | undefined {
  const namespace = env.OUTPOST_POOL_HEALTH;
  if (!namespace) return undefined;
  return namespace.get(namespace.idFromName(`pool-health:${cacheVersion}:${pool}`)) as unknown as PoolHealthStub;
}

/** How the pool's objects know an origin: a changed address starts afresh. */
export function sharedOriginKey(origin: { name: string; address: string }): string {
  return `${origin.name}@${origin.address}`;
}

/**
 * A demotion holds open_seconds after the reports, plus two poll intervals: the reporting locations'
 * cool-downs end after open_seconds, and their trials' reports (if the origin is still down) must
 * reach the object, and the others learn of them, before the demotion lapses; otherwise every
 * location would try the dead origin first again once per open_seconds.
 */
export function demotionQuery(pool: PoolConfig, coordination: CoordinationConfig, now: number): DemotionQuery {
  return { now, windowMs: pool.circuit_breaker.open_seconds * 1000 + 2 * coordination.shared_health_poll_interval_ms, minLocations: coordination.shared_health_min_locations };
}

interface DemotionsMemo {
  polledAt: number;
  demoted: Demotions;
}

export interface DemotionsSource {
  stub: PoolHealthStub;
  cache: Cache | undefined;
  clock: Clock;
  cacheVersion: string;
  pool: PoolConfig;
  coordination: CoordinationConfig;
  colo: string;
}

/**
 * What the location's memo says and what to do about it, by its age against the poll interval:
 *   fresh     younger than the interval: use it, no call;
 *   aging     up to two intervals: use it now and ask the object in the background, so a location
 *             with steady misses never waits for the object (demotions carry their own ends, so an
 *             aging memo is still right about what it holds);
 *   missing   older, absent, or from a clock ahead of ours: ask the object on the miss's path
 *             (bounded by POOL_HEALTH_POLL_TIMEOUT_MS), as a quiet location's view is too old to use.
 */
export type MemoState = { kind: "fresh" | "aging"; demoted: Demotions } | { kind: "missing" };

export async function readDemotionsMemo(source: DemotionsSource): Promise<MemoState> {
  const memo = await readMemo(source.cache, memoUrl(source.cacheVersion, source.pool.name, source.colo));
  const interval = source.coordination.shared_health_poll_interval_ms;
  const age = memo ? source.clock.now() - memo.polledAt : Number.POSITIVE_INFINITY;
  if (!memo || age < 0 || age >= 2 * interval) return { kind: "missing" };
  return { kind: age < interval ? "fresh" : "aging", demoted: memo.demoted };
}

/** Asks the pool's object for its demotions; its answer becomes the location's memo. */
export async function pollDemotions(source: DemotionsSource): Promise<CoordinatorResult<Demotions>> {
  const { clock, cache } = source;
  const answer = await callCoordinator(clock, POOL_HEALTH_POLL_TIMEOUT_MS, () => source.stub.demotions(demotionQuery(source.pool, source.coordination, clock.now())), "the pool health object");
  if (!answer.ok) return answer;
  if (cache) {
    try {
      await putJson(cache, memoUrl(source.cacheVersion, source.pool.name, source.colo), { polledAt: clock.now(), demoted: answer.value } satisfies DemotionsMemo);
    } catch {
      // Without the memo the next check calls the object again: more calls, never a wrong answer.
    }
  }
  return answer;
}

export function reportCircuitOpened(stub: PoolHealthStub, clock: Clock, opened: CircuitOpened) {
  return callCoordinator(clock, POOL_HEALTH_REPORT_TIMEOUT_MS, () => stub.report(opened), "the pool health object");
}

async function readMemo(cache: Cache | undefined, url: string): Promise<DemotionsMemo | undefined> {
  const value = await readJson<Partial<DemotionsMemo>>(cache, url);
  return value && typeof value.polledAt === "number" && typeof value.demoted === "object" && value.demoted !== null ? (value as DemotionsMemo) : undefined;
}

/** Names the colo too: several fake locations on one runtime (tests, the simulator) keep one memo each. */
export function memoUrl(cacheVersion: string, pool: string, colo: string): string {
  return `${MEMO_URL_PREFIX}${encodeURIComponent(cacheVersion)}/${encodeURIComponent(pool)}/${encodeURIComponent(colo)}`;
}

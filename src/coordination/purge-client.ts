// What the worker asks the purge coordinator (purge-coordinator.ts), and the location memo that keeps
// it to one call per location per interval. Every call is bounded by a timeout on the injected clock
// and never throws: an unreachable coordinator is an answer ({ ok: false }), and the caller falls back
// to the KV ledger, which keeps working underneath (purge-state.ts).
//
// Staleness: an isolate re-checks every half purge_poll_interval_ms; a check reads the location's
// memo (Cache API, free) and calls the coordinator only when the memo is older than the interval. A
// purge recorded at T is therefore applied by every isolate with traffic by T + interval (the memo's
// age) + interval / 2 (the isolate's re-check) + one coordinator round trip: about 1.5 s at the
// default 1 s.
import type { CoordinationConfig } from "../config/schema.ts";
import type { Clock } from "../lib/clock.ts";
import type { LedgerDocument } from "../purge/purge-ledger.ts";
import { callCoordinator, putJson, readJson, type CoordinatorResult } from "./object-call.ts";
import type { PollAnswer, PollReport, PurgeCoordinator, PurgeReceipt, PurgeToRecord } from "./purge-coordinator.ts";

/** The binding's name in wrangler.toml ([[durable_objects.bindings]]). */
export const PURGE_COORDINATOR_BINDING = "OUTPOST_PURGE_COORDINATOR";
/** The class the binding names, exported from the worker entry. */
export const PURGE_COORDINATOR_CLASS = "PurgeCoordinator";
/** A poll slower than this counts as a failure: the isolate keeps its ledger and reads KV's copy. */
export const COORDINATOR_POLL_TIMEOUT_MS = 1_500;
/** A purge waits this long for the coordinator before it is recorded in KV only. */
export const COORDINATOR_RECORD_TIMEOUT_MS = 3_000;
const MEMO_URL_PREFIX = "https://outpost-cache.internal/__outpost/purge-epoch/v1/";
const LEDGER_AT_URL_PREFIX = "https://outpost-cache.internal/__outpost/purge-ledger-at/v1/";

/**
 * The coordinator's methods as the worker calls them (RPC: each call is one billed Durable Object
 * request). Spelled out rather than taken from DurableObjectStub, whose serialised types lose the
 * ledger's tuples, and so a test can stand in for an unreachable coordinator.
 */
export interface CoordinatorStub {
  record(purge: PurgeToRecord): Promise<{ id: string; epoch: number; at: number }>;
  poll(report: PollReport): Promise<PollAnswer>;
  receipt(id: string, now: number, windowMs: number): Promise<PurgeReceipt | undefined>;
}

interface CoordinatorEnv {
  OUTPOST_PURGE_COORDINATOR?: DurableObjectNamespace<PurgeCoordinator>;
}

/** The coordinator of this cache_version when the configuration asks for it and the binding exists. */
export function purgeCoordinatorFor(env: CoordinatorEnv, coordination: CoordinationConfig, cacheVersion: string): CoordinatorStub | undefined {
  const namespace = env.OUTPOST_PURGE_COORDINATOR;
  if (!coordination.purge_coordinator || !namespace) return undefined;
  // One object per cache_version: a new cache_version starts with an empty cache and an empty ledger.
  return namespace.get(namespace.idFromName(`purge-ledger:${cacheVersion}`)) as unknown as CoordinatorStub;
}

export function recordWithCoordinator(stub: CoordinatorStub, clock: Clock, purge: PurgeToRecord): Promise<CoordinatorResult<{ id: string; epoch: number; at: number }>> {
  return callCoordinator(clock, COORDINATOR_RECORD_TIMEOUT_MS, () => stub.record(purge));
}

export function receiptFromCoordinator(stub: CoordinatorStub, clock: Clock, id: string, windowMs: number): Promise<CoordinatorResult<PurgeReceipt | undefined>> {
  return callCoordinator(clock, COORDINATOR_RECORD_TIMEOUT_MS, () => stub.receipt(id, clock.now(), windowMs));
}

/** What an isolate has applied: the epoch, and when its location first applied it. */
export interface AppliedEpoch {
  epoch: number;
  at: number;
}

/** The location's memo: the last answer of the coordinator, shared by the location's isolates. */
interface EpochMemo {
  epoch: number;
  polledAt: number;
  /** When the location applied `epoch` (the polling isolate's clock). */
  appliedAt: number;
}

export type LearnedEpoch =
  | { kind: "unchanged"; source: "memo" | "coordinator" }
  | { kind: "newer"; source: "memo" | "coordinator"; applied: AppliedEpoch; ledger: LedgerDocument }
  | { kind: "failed"; error: string };

interface LearnOptions {
  stub: CoordinatorStub;
  cache: Cache | undefined;
  clock: Clock;
  cacheVersion: string;
  intervalMs: number;
  colo: string;
  applied: AppliedEpoch;
}

/**
 * Learns whether a newer epoch exists: from the location's memo when it is younger than the
 * interval (no coordinator call), else from the coordinator, whose answer then becomes the memo.
 * The ledger of an epoch is written before the memo that names it, so a reader never sees an epoch
 * whose ledger is missing (a missing one, evicted, sends it to the coordinator).
 */
export async function learnEpoch(options: LearnOptions): Promise<LearnedEpoch> {
  const { stub, cache, clock, cacheVersion, intervalMs, applied } = options;
  const now = clock.now();
  const memo = await readJson<EpochMemo>(cache, memoUrl(cacheVersion, options.colo));
  if (memo && isEpochMemo(memo) && now - memo.polledAt < intervalMs && now >= memo.polledAt) {
    if (memo.epoch <= applied.epoch) return { kind: "unchanged", source: "memo" };
    const ledger = await readJson<LedgerDocument>(cache, ledgerAtUrl(cacheVersion, memo.epoch));
    if (ledger) return { kind: "newer", source: "memo", applied: { epoch: memo.epoch, at: memo.appliedAt }, ledger };
  }
  const answer = await callCoordinator<PollAnswer>(clock, COORDINATOR_POLL_TIMEOUT_MS, () =>
    stub.poll({ colo: options.colo, seenEpoch: applied.epoch, seenAt: applied.at, now }),
  );
  if (!answer.ok) return { kind: "failed", error: answer.error };
  const polledAt = clock.now();
  const { epoch, ledger } = answer.value;
  const newer = epoch > applied.epoch && ledger !== undefined;
  const appliedNow: AppliedEpoch = newer ? { epoch, at: polledAt } : applied;
  if (cache) {
    try {
      if (newer) await putJson(cache, ledgerAtUrl(cacheVersion, epoch), ledger);
      await putJson(cache, memoUrl(cacheVersion, options.colo), { epoch: appliedNow.epoch, polledAt, appliedAt: appliedNow.at } satisfies EpochMemo);
    } catch {
      // Without the memo the next check calls the coordinator again: more calls, never a wrong answer.
    }
  }
  return newer ? { kind: "newer", source: "coordinator", applied: appliedNow, ledger } : { kind: "unchanged", source: "coordinator" };
}

function isEpochMemo(value: unknown): value is EpochMemo {
  const memo = value as Partial<EpochMemo>;
  return typeof memo.epoch === "number" && typeof memo.polledAt === "number" && typeof memo.appliedAt === "number";
}


/**
 * The memo's key names the colo as well: the Cache API is per location already, so in production
 * this changes nothing, while a test (or the simulator) running several fake locations on one
 * runtime keeps one memo per location.
 */
export function memoUrl(cacheVersion: string, colo: string): string {
  return `${MEMO_URL_PREFIX}${encodeURIComponent(cacheVersion)}/${encodeURIComponent(colo)}`;
}

function ledgerAtUrl(cacheVersion: string, epoch: number): string {
  return `${LEDGER_AT_URL_PREFIX}${encodeURIComponent(cacheVersion)}/${epoch}`;
}

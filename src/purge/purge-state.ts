// This isolate's copy of the purge ledger of the cache_version in force (a new cache_version starts
// with an empty cache, so with an empty ledger too), and where it is shared: one KV value (every location, as
// fast as KV propagates, ~60 s) and one Cache API object (this location, at once). An isolate re-reads
// the location's copy every second (Cache API reads are local and free) and KV's every 5 s; the first
// cacheable request of an isolate waits for the first read so a new isolate never serves what an
// earlier purge removed. Reads and writes never throw: a ledger
// that cannot be read is the one in memory.
// With the purge coordinator (coordination.purge_coordinator and its binding), each re-read, every
// half purge_poll_interval_ms, also learns new epochs from the coordinator through the location's memo
// (coordination/purge-client.ts); the KV copy stays underneath, so a purge recorded while the
// coordinator was down still arrives, and a coordinator that fails is the KV-only mode, counted.
import type { CoordinationConfig } from "../config/schema.ts";
import { learnEpoch, purgeCoordinatorFor, type AppliedEpoch, type CoordinatorStub } from "../coordination/purge-client.ts";
import type { PurgeCoordinator } from "../coordination/purge-coordinator.ts";
import type { Clock } from "../lib/clock.ts";
import { describeError, logEvent } from "../lib/log.ts";
import { isLedgerDocument, PurgeLedger, type PurgeItems } from "./purge-ledger.ts";

const LEDGER_KV_PREFIX = "outpost:purge-ledger:v1:";
/**
 * One KV key per purge, kept as long as the ledger keeps purges. KV has no compare-and-set: two
 * locations writing the ledger at once can lose one purge; the cron folds this log back into the
 * ledger every minute (reconcile-ledger.ts), so a lost purge comes back within about a minute.
 */
const PURGE_LOG_KV_PREFIX = "outpost:purge-log:v1:";
const PURGE_LOG_SECONDS = 30 * 86_400;
/** How often an isolate re-reads the location's copy of the ledger (Cache API). */
export const LOCATION_REREAD_MS = 1_000;
/** How often an isolate re-reads KV's copy (other locations' purges; KV reads are billed). */
export const GLOBAL_REREAD_MS = 5_000;
const LEDGER_CACHE_URL_PREFIX = "https://outpost-cache.internal/__outpost/purge-ledger/v1/";
const LEDGER_CACHE_SECONDS = 30 * 86_400;

interface LedgerStores {
  kv: KVNamespace | undefined;
  /** The location's Cache API, where it exists (not on *.workers.dev). */
  cache: Cache | undefined;
}

interface LedgerEnv {
  OUTPOST_CACHE?: KVNamespace;
  OUTPOST_PURGE_COORDINATOR?: DurableObjectNamespace<PurgeCoordinator>;
}

/**
 * With the coordinator, an isolate re-checks this many times per poll interval: the memo (a free
 * Cache API read) decides whether the coordinator is called, so calls stay at one per location per
 * interval while a purge is applied within 1.5 intervals instead of 2.
 */
export const RECHECKS_PER_POLL_INTERVAL = 2;
/** A coordinator failure is logged at most this often per isolate; every one is counted. */
const FALLBACK_LOG_EVERY_MS = 60_000;

interface RecordedPurge {
  at: number;
  /** Whether the ledger reached KV (other locations) and the location's cache (other isolates here). */
  sharedGlobally: boolean;
  sharedInLocation: boolean;
  /** Whether the purge reached the purge log the cron folds into the ledger. */
  logged: boolean;
}

/** One purge as the purge log keeps it. */
export interface LoggedPurge {
  at: number;
  soft: boolean;
  items: PurgeItems;
}

export class PurgeState {
  ledger = new PurgeLedger();
  private cacheVersion: string | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private globalReadAt = Number.NEGATIVE_INFINITY;
  private pendingRead: Promise<void> | undefined;
  /** The copies merged last, per store: an unchanged copy is not parsed and merged again. */
  private lastMerged: Partial<Record<keyof LedgerStores, string>> = {};
  private readonly clock: Clock;
  /** Purges recorded by this isolate since it started. */
  purgeCount = 0;
  /** The coordinator's epoch this isolate has applied, and when its location first applied it. */
  applied: AppliedEpoch = { epoch: 0, at: 0 };
  /** Coordinator calls this isolate made (polls), and the ones that failed and fell back to KV (polls and purges). */
  coordinatorCalls = 0;
  coordinatorFallbacks = 0;
  private fallbackLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  get lastReadAt(): number {
    return this.readAt;
  }

  /**
   * Undefined when the ledger in memory may be used now (a background re-read may start); a promise
   * when this isolate has never read it. Keeps hot-tier hits free of awaits.
   */
  ensureFresh(
    env: LedgerEnv,
    cacheVersion: string,
    background: (work: Promise<unknown>) => void,
    coordination?: CoordinationConfig,
    request?: Request,
  ): Promise<void> | undefined {
    const now = this.clock.now();
    const coordinated = coordination?.purge_coordinator === true && env.OUTPOST_PURGE_COORDINATOR !== undefined;
    const rereadMs = coordinated ? coordination.purge_poll_interval_ms / RECHECKS_PER_POLL_INTERVAL : LOCATION_REREAD_MS;
    if (now - this.readAt < rereadMs && cacheVersion === this.cacheVersion) return undefined;
    this.useVersion(cacheVersion);
    const first = this.readAt === Number.NEGATIVE_INFINITY;
    // A read under way: the request that started it keeps it alive (waitUntil); the others go on.
    if (this.pendingRead) return first ? this.pendingRead : undefined;
    const { kv, cache } = ledgerStores(env);
    const global = now - this.globalReadAt >= GLOBAL_REREAD_MS;
    const stores = { kv: global ? kv : undefined, cache };
    const stub = coordinated ? purgeCoordinatorFor(env, coordination, cacheVersion) : undefined;
    // request.cf is read only here, once per interval, never on every hit.
    const reading = (stub ? this.readCoordinated(stub, stores, coordination!.purge_poll_interval_ms, request?.cf?.colo) : this.read(stores)).finally(() => {
      if (this.pendingRead !== reading) return; // the cache_version changed meanwhile
      this.readAt = this.clock.now();
      if (global) this.globalReadAt = this.readAt;
      this.pendingRead = undefined;
    });
    this.pendingRead = reading;
    if (first) return reading;
    background(reading);
    return undefined;
  }

  /** Applies a purge here at once, then shares the merged ledger with this location and KV. */
  async record(stores: LedgerStores, cacheVersion: string, items: PurgeItems, soft: boolean, at = this.clock.now()): Promise<RecordedPurge> {
    this.useVersion(cacheVersion);
    this.ledger.add(items, at, soft);
    this.purgeCount += 1;
    // Merge what others recorded meanwhile, so this write does not undo their purges.
    await this.read(stores, { fresh: true });
    this.ledger.prune(at);
    const document = JSON.stringify(this.ledger.toDocument());
    const logged: LoggedPurge = { at, soft, items };
    const [sharedGlobally, sharedInLocation, inLog] = await Promise.all([
      attempt("kv", async () => {
        if (!stores.kv) return false;
        await stores.kv.put(ledgerKvKey(cacheVersion), document);
        return true;
      }),
      attempt("cache", async () => {
        if (!stores.cache) return false;
        await stores.cache.put(ledgerCacheUrl(cacheVersion), new Response(document, { headers: { "cache-control": `max-age=${LEDGER_CACHE_SECONDS}` } }));
        return true;
      }),
      attempt("kv", async () => {
        if (!stores.kv) return false;
        const entry = JSON.stringify(logged);
        // Small entries travel in the key's metadata, so the cron's list needs no reads.
        const metadata = entry.length <= 1_000 ? logged : undefined;
        await stores.kv.put(`${purgeLogPrefix(cacheVersion)}${at}:${crypto.randomUUID()}`, entry, { expirationTtl: PURGE_LOG_SECONDS, metadata });
        return true;
      }),
    ]);
    return { at, sharedGlobally, sharedInLocation, logged: inLog };
  }

  private useVersion(cacheVersion: string): void {
    if (cacheVersion === this.cacheVersion) return;
    this.cacheVersion = cacheVersion;
    this.ledger = new PurgeLedger();
    this.lastMerged = {};
    this.applied = { epoch: 0, at: 0 };
    this.readAt = Number.NEGATIVE_INFINITY;
    this.globalReadAt = Number.NEGATIVE_INFINITY;
    this.pendingRead = undefined;
  }

  private async read(stores: LedgerStores, { fresh = false } = {}): Promise<void> {
    const version = this.cacheVersion!;
    const [kvText, cacheText] = await Promise.all([
      attempt("kv", async () => (stores.kv ? await stores.kv.get(ledgerKvKey(version), { type: "text", cacheTtl: fresh ? undefined : 30 }) : null)),
      attempt("cache", async () => {
        const response = stores.cache ? await stores.cache.match(ledgerCacheUrl(version)) : undefined;
        return response ? await response.text() : null;
      }),
    ]);
    // A read that finishes after the version changed belongs to the old ledger.
    if (version !== this.cacheVersion) return;
    this.mergeText("kv", kvText);
    this.mergeText("cache", cacheText);
  }

  /** Today's read (the location's copy, KV's when due) and the coordinator's answer, together. */
  private async readCoordinated(stub: CoordinatorStub, stores: LedgerStores, intervalMs: number, colo: unknown): Promise<void> {
    const version = this.cacheVersion!;
    const [learned] = await Promise.all([
      learnEpoch({ stub, cache: stores.cache, clock: this.clock, cacheVersion: version, intervalMs, colo: typeof colo === "string" ? colo : "unknown", applied: this.applied }),
      this.read(stores),
    ]);
    if (version !== this.cacheVersion) return;
    if (learned.kind === "failed") return this.noteCoordinatorFailure("poll", learned.error);
    if (learned.source === "coordinator") this.coordinatorCalls += 1;
    if (learned.kind === "newer" && learned.applied.epoch > this.applied.epoch) {
      this.ledger.merge(learned.ledger);
      this.applied = learned.applied;
    }
  }

  /** Counts a coordinator failure (the KV ledger carries on alone) and logs it, at most once a minute. */
  noteCoordinatorFailure(during: "poll" | "purge", error: string): void {
    this.coordinatorFallbacks += 1;
    const now = this.clock.now();
    if (now - this.fallbackLoggedAt < FALLBACK_LOG_EVERY_MS) return;
    this.fallbackLoggedAt = now;
    logEvent("warn", "purge_coordinator_unavailable", { during, error, fallback: "kv", fallbacks: this.coordinatorFallbacks });
  }

  /** Merges a copy of the ledger unless it is the one this isolate merged last (the usual re-read). */
  private mergeText(store: keyof LedgerStores, text: string | null | false): void {
    if (typeof text !== "string" || text === this.lastMerged[store]) return;
    this.lastMerged[store] = text;
    try {
      const document: unknown = JSON.parse(text);
      if (isLedgerDocument(document)) this.ledger.merge(document);
    } catch {
      // an unreadable copy is ignored, like a missing one
    }
  }
}

async function attempt<T>(store: string, work: () => Promise<T>): Promise<T | false> {
  try {
    return await work();
  } catch (error) {
    logEvent("warn", "purge_ledger_io_failed", { store, error: describeError(error) });
    return false;
  }
}

/** The ledger's KV key for a cache_version. */
export function ledgerKvKey(cacheVersion: string): string {
  return LEDGER_KV_PREFIX + cacheVersion;
}

/** The purge log's KV keys for a cache_version start with this (then `<at>:<uuid>`). */
export function purgeLogPrefix(cacheVersion: string): string {
  return `${PURGE_LOG_KV_PREFIX}${cacheVersion}:`;
}

export function ledgerCacheUrl(cacheVersion: string): string {
  return LEDGER_CACHE_URL_PREFIX + encodeURIComponent(cacheVersion);
}

/** Where this worker shares its ledger: KV when bound, the location's cache where it exists. */
export function ledgerStores(env: LedgerEnv): LedgerStores {
  return { kv: env.OUTPOST_CACHE, cache: typeof caches === "undefined" ? undefined : caches.default };
}

// The purge coordinator: one SQLite-backed Durable Object per cache_version that holds the purge
// ledger with one answer everywhere (a Durable Object is single-threaded and its storage strongly
// consistent), numbers every purge with an epoch, and keeps which epoch each location has applied.
//   record   a purge is in the ledger once this returns: epoch n+1, the ledger document rewritten
//   poll     a location (one call per location per interval, purge-client.ts) reports the epoch it
//            has applied and gets the ledger back when a newer epoch exists
//   receipt  for one purge: the locations active within the window that have applied it, and when
//            (the time the location reported), and those that have not yet
// Times come from the caller's clock, like the KV ledger's (an entry's storedAt and a purge's `at`
// are compared, so both come from Worker clocks). The object never calls out and never throws for
// a well-formed call; the client decides what a failure means (fall back to KV).
import { DurableObject } from "cloudflare:workers";
import { SHIELD_COLO } from "./shield-protocol.ts";
import { isLedgerDocument, PurgeLedger, type LedgerDocument, type PurgeItems } from "../purge/purge-ledger.ts";

/** A location's last poll is written to storage at most this often unless its epoch changed (rows written are billed). */
export const LOCATION_WRITE_EVERY_MS = 60_000;
/** Purges, locations and sightings older than this are dropped (the ledger keeps purges as long, purge-ledger.ts). */
const HISTORY_MS = 30 * 86_400_000;

export interface PurgeToRecord {
  id: string;
  at: number;
  soft: boolean;
  items: PurgeItems;
  /** What the purge names ("tags", "everything", ...) and how many, for the receipt. */
  kind: string;
  count: number;
}

export interface PollReport {
  /** request.cf.colo of the location polling ("unknown" where the runtime gives none). */
  colo: string;
  /** The epoch the location has applied, and when it applied it (its clock). */
  seenEpoch: number;
  seenAt: number;
  now: number;
}

export interface PollAnswer {
  epoch: number;
  /** The whole ledger, only when `epoch` is newer than the one reported. */
  ledger?: LedgerDocument;
}

export interface ReceiptLocation {
  colo: string;
  /** The epoch the location last reported and when it last polled. */
  epoch: number;
  last_poll_at: number;
  /** When the location applied an epoch that includes the purge; undefined when it has not yet. */
  observed_at?: number;
}

export interface PurgeReceipt {
  id: string;
  epoch: number;
  at: number;
  soft: boolean;
  kind: string;
  count: number;
  current_epoch: number;
  window_ms: number;
  locations: ReceiptLocation[];
}

interface KnownLocation {
  epoch: number;
  polledAt: number;
  /** When the row in storage was last written. */
  writtenAt: number;
}

export class PurgeCoordinator extends DurableObject {
  private readonly sql: SqlStorage;
  private ledger = new PurgeLedger();
  private document: LedgerDocument = this.ledger.toDocument();
  private epoch = 0;
  /** Last polls, kept in memory between the throttled writes (LOCATION_WRITE_EVERY_MS). */
  private readonly locations = new Map<string, KnownLocation>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // SQL calls are synchronous: the constructor finishes before any call is delivered.
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS ledger (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), epoch INTEGER NOT NULL, document TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS purges (epoch INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, soft INTEGER NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS locations (colo TEXT PRIMARY KEY, epoch INTEGER NOT NULL, polled_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS sightings (colo TEXT NOT NULL, epoch INTEGER NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY (colo, epoch));
    `);
    const row = this.sql.exec<{ epoch: number; document: string }>("SELECT epoch, document FROM ledger WHERE singleton = 1").toArray()[0];
    if (row) {
      const document: unknown = JSON.parse(row.document);
      if (isLedgerDocument(document)) this.ledger.merge(document);
      this.document = this.ledger.toDocument();
      this.epoch = row.epoch;
    }
  }

  /** Records a purge; it is in every later poll's answer. Recording the same id twice records it once. */
  record(purge: PurgeToRecord): { id: string; epoch: number; at: number } {
    const existing = this.sql.exec<{ epoch: number; at: number }>("SELECT epoch, at FROM purges WHERE id = ?", purge.id).toArray()[0];
    if (existing) return { id: purge.id, epoch: existing.epoch, at: existing.at };
    this.ledger.add(purge.items, purge.at, purge.soft);
    this.ledger.prune(purge.at);
    const document = this.ledger.toDocument();
    const epoch = this.epoch + 1;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("INSERT OR REPLACE INTO ledger (singleton, epoch, document) VALUES (1, ?, ?)", epoch, JSON.stringify(document));
      this.sql.exec("INSERT INTO purges (epoch, id, at, soft, kind, count) VALUES (?, ?, ?, ?, ?, ?)", epoch, purge.id, purge.at, purge.soft ? 1 : 0, purge.kind, purge.count);
      this.forget(purge.at - HISTORY_MS);
    });
    this.epoch = epoch;
    this.document = document;
    return { id: purge.id, epoch, at: purge.at };
  }

  /** A location's poll: note the epoch it has applied, answer the current epoch (and the ledger when newer). */
  poll(report: PollReport): PollAnswer {
    const colo = report.colo.slice(0, 16);
    const seenEpoch = Math.min(Math.max(0, Math.trunc(report.seenEpoch)), this.epoch);
    const known = this.locations.get(colo) ?? this.storedLocation(colo);
    const advanced = seenEpoch > (known?.epoch ?? 0);
    const location: KnownLocation = { epoch: Math.max(seenEpoch, known?.epoch ?? 0), polledAt: report.now, writtenAt: known?.writtenAt ?? Number.NEGATIVE_INFINITY };
    if (advanced || report.now - location.writtenAt >= LOCATION_WRITE_EVERY_MS) {
      this.ctx.storage.transactionSync(() => {
        if (advanced) this.sql.exec("INSERT OR IGNORE INTO sightings (colo, epoch, seen_at) VALUES (?, ?, ?)", colo, seenEpoch, Math.min(report.seenAt, report.now));
        this.sql.exec("INSERT OR REPLACE INTO locations (colo, epoch, polled_at) VALUES (?, ?, ?)", colo, location.epoch, report.now);
      });
      location.writtenAt = report.now;
    }
    this.locations.set(colo, location);
    return seenEpoch < this.epoch ? { epoch: this.epoch, ledger: this.document } : { epoch: this.epoch };
  }

  /** Which locations active within `windowMs` before `now` have applied purge `id`, and when. */
  receipt(id: string, now: number, windowMs: number): PurgeReceipt | undefined {
    const purge = this.sql.exec<{ epoch: number; at: number; soft: number; kind: string; count: number }>("SELECT epoch, at, soft, kind, count FROM purges WHERE id = ?", id).toArray()[0];
    if (!purge) return undefined;
    const active = new Map<string, { epoch: number; polledAt: number }>();
    for (const row of this.sql.exec<{ colo: string; epoch: number; polled_at: number }>("SELECT colo, epoch, polled_at FROM locations WHERE polled_at >= ?", now - windowMs)) {
      active.set(row.colo, { epoch: row.epoch, polledAt: row.polled_at });
    }
    // Polls since the last write are only in memory.
    for (const [colo, known] of this.locations) if (known.polledAt >= now - windowMs) active.set(colo, known);
    // Receipts are about locations that answer visitors. Origin shields poll too (for their own
    // ledger) but are left out: a location that knows a purge skips a shield's copies until the
    // shield has it (origin-shield.ts), and a shield without traffic would keep every receipt open.
    active.delete(SHIELD_COLO);
    const locations = [...active].map(([colo, known]): ReceiptLocation => {
      const sighting = this.sql.exec<{ seen_at: number | null }>("SELECT MIN(seen_at) AS seen_at FROM sightings WHERE colo = ? AND epoch >= ?", colo, purge.epoch).toArray()[0];
      const observedAt = sighting?.seen_at ?? undefined;
      return { colo, epoch: known.epoch, last_poll_at: known.polledAt, ...(observedAt !== undefined ? { observed_at: observedAt } : {}) };
    });
    locations.sort((a, b) => a.colo.localeCompare(b.colo));
    return { id, epoch: purge.epoch, at: purge.at, soft: purge.soft === 1, kind: purge.kind, count: purge.count, current_epoch: this.epoch, window_ms: windowMs, locations };
  }

  private storedLocation(colo: string): KnownLocation | undefined {
    const row = this.sql.exec<{ epoch: number; polled_at: number }>("SELECT epoch, polled_at FROM locations WHERE colo = ?", colo).toArray()[0];
    return row ? { epoch: row.epoch, polledAt: row.polled_at, writtenAt: row.polled_at } : undefined;
  }

  /** Drops history older than `before`, keeping each location's latest sighting (its receipts still answer). */
  private forget(before: number): void {
    this.sql.exec("DELETE FROM purges WHERE at < ?", before);
    this.sql.exec("DELETE FROM locations WHERE polled_at < ?", before);
    this.sql.exec("DELETE FROM sightings WHERE seen_at < ? AND epoch < (SELECT MAX(latest.epoch) FROM sightings AS latest WHERE latest.colo = sightings.colo)", before);
  }
}

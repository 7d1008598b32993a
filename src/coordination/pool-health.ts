// Shared passive health: one SQLite-backed Durable Object per pool (and cache_version) that hears
// from every location when its circuit for an origin opened on connection failures or timeouts, and
// answers which origins are demoted everywhere.
//   report     a location's circuit for `origin` opened at `at` (one row per origin and colo: the
//              latest report of a location replaces its previous one)
//   demotions  origins reported by at least `minLocations` distinct colos within the last
//              `windowMs` (the pool's circuit_breaker.open_seconds), each with the time its demotion
//              ends: `windowMs` after the `minLocations`-th newest report, so a demotion lapses by
//              itself once locations stop reporting (their own circuits' trials succeeded or stopped).
// One location alone never demotes (its own circuit already covers it); an origin nobody reported is
// never demoted. Times come from the callers' clocks, like the purge coordinator's. The object never
// calls out and never throws for a well-formed call; the client decides what a failure means.
import { DurableObject } from "cloudflare:workers";

/** Reports older than this are dropped (longer than any open_seconds, 3600). */
const HISTORY_MS = 2 * 3_600_000;

export interface CircuitOpened {
  /** The origin as `<name>@<address>`: a changed address starts afresh, like the isolate's circuit. */
  origin: string;
  colo: string;
  at: number;
}

export interface DemotionQuery {
  now: number;
  windowMs: number;
  minLocations: number;
}

/** Demoted origins (`<name>@<address>`) and when each demotion ends. */
export type Demotions = Record<string, number>;

export class PoolHealth extends DurableObject {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS reports (origin TEXT NOT NULL, colo TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (origin, colo))");
  }

  report(opened: CircuitOpened): void {
    const origin = opened.origin.slice(0, 512);
    const colo = opened.colo.slice(0, 16);
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("INSERT INTO reports (origin, colo, at) VALUES (?, ?, ?) ON CONFLICT (origin, colo) DO UPDATE SET at = MAX(at, excluded.at)", origin, colo, opened.at);
      this.sql.exec("DELETE FROM reports WHERE at < ?", opened.at - HISTORY_MS);
    });
  }

  demotions(query: DemotionQuery): Demotions {
    const minLocations = Math.max(1, Math.trunc(query.minLocations));
    const recent = new Map<string, number[]>();
    for (const row of this.sql.exec<{ origin: string; at: number }>("SELECT origin, at FROM reports WHERE at > ? ORDER BY at DESC", query.now - query.windowMs)) {
      const times = recent.get(row.origin) ?? [];
      times.push(row.at);
      recent.set(row.origin, times);
    }
    const demoted: Demotions = {};
    for (const [origin, times] of recent) {
      // Newest first: once the minLocations-th newest report leaves the window, fewer than
      // minLocations locations are still reporting.
      if (times.length >= minLocations) demoted[origin] = times[minLocations - 1]! + query.windowMs;
    }
    return demoted;
  }
}

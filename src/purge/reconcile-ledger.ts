// Run by the cron every minute: folds the purge log (one KV key per purge) back into the ledger.
// Purge handlers in different locations can overwrite each other's ledger write (KV has no
// compare-and-set); each purge is also in the log under its own key, so the ledger converges to
// every purge within about a minute. Merging is idempotent: folding a purge twice changes nothing.
import { describeError, logEvent } from "../lib/log.ts";
import { isLedgerDocument, PurgeLedger } from "./purge-ledger.ts";
import { ledgerKvKey, purgeLogPrefix, type LoggedPurge } from "./purge-state.ts";

/** 10 pages of 1,000 keys: the ledger's own capacity (MAX_LEDGER_ITEMS) is reached long before. */
const MAX_LIST_PAGES = 10;

function isLoggedPurge(value: unknown): value is LoggedPurge {
  const purge = value as Partial<LoggedPurge> | null;
  return typeof purge === "object" && purge !== null && typeof purge.at === "number" && typeof purge.soft === "boolean" && typeof purge.items === "object";
}

export async function reconcilePurgeLedger(kv: KVNamespace, cacheVersion: string, now: number): Promise<{ purges: number; rewritten: boolean }> {
  const logPrefix = purgeLogPrefix(cacheVersion);
  const purges: LoggedPurge[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const listed: KVNamespaceListResult<unknown> = await kv.list({ prefix: logPrefix, cursor });
    for (const key of listed.keys) {
      const entry = isLoggedPurge(key.metadata) ? key.metadata : await kv.get(key.name, "json").catch((error: unknown) => logEvent("warn", "purge_log_read_failed", { error: describeError(error) }));
      if (isLoggedPurge(entry)) purges.push(entry);
    }
    if (listed.list_complete) break;
    cursor = listed.cursor;
  }
  if (purges.length === 0) return { purges: 0, rewritten: false };

  const ledgerKey = ledgerKvKey(cacheVersion);
  const current: unknown = await kv.get(ledgerKey, "json");
  const ledger = new PurgeLedger();
  if (isLedgerDocument(current)) ledger.merge(current);
  const before = JSON.stringify(ledger.toDocument());
  for (const purge of purges) ledger.add(purge.items, purge.at, purge.soft);
  ledger.prune(now);
  const after = JSON.stringify(ledger.toDocument());
  if (after === before) return { purges: purges.length, rewritten: false };
  await kv.put(ledgerKey, after);
  logEvent("warn", "purge_ledger_repaired", { cache_version: cacheVersion, purges: purges.length });
  return { purges: purges.length, rewritten: true };
}

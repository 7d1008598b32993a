// The purge ledger: what was purged and when, as data. Purging never touches stored entries; every
// read asks the ledger whether the entry it found was stored before a purge that covers it. So a
// purge by tag, prefix, host or everything costs the same whatever the number of cached objects, and
// it covers every tier at once (hot, location, KV), in every location that has read the ledger.
//
// Per purged item the ledger keeps two times: the last hard purge (the entry is gone: a miss, never
// served stale) and the last soft purge (the entry is stale from then on, so it is revalidated, or
// served under stale-while-revalidate / stale-if-error: Fastly's soft purge).

/** Items are dropped this long after their last purge: no entry is kept longer (see entry.ts). */
export const LEDGER_ITEM_LIFETIME_MS = 30 * 86_400_000;
/** Beyond this many items the oldest are folded into "everything" (over-purging, never under-purging). */
export const MAX_LEDGER_ITEMS = 10_000;

/** [hardAt, softAt], ms since the epoch; 0 = never. */
type Marks = [number, number];
const ITEM_KINDS = ["hosts", "prefixes", "files", "tags"] as const;
type ItemKind = (typeof ITEM_KINDS)[number];

/** What one purge names, already canonical (see purge-request.ts). */
export interface PurgeItems {
  everything?: boolean;
  hosts?: string[];
  prefixes?: string[];
  files?: string[];
  tags?: string[];
}

/** The serialised form, stored in KV and the Cache API. */
export interface LedgerDocument {
  v: 1;
  everything: Marks;
  items: Record<ItemKind, Record<string, Marks>>;
}

/** What a read needs to know about the entry it found. */
export interface PurgeTarget {
  storedAt: number;
  /** Lower-case host name of the request. */
  host: string;
  path: string;
  /** The file identity (see fileIdentity), computed only when file purges exist. */
  file: () => string;
  tags: ReadonlyArray<string> | undefined;
}

export type PurgeVerdict = { kind: "none" } | { kind: "hard"; at: number } | { kind: "soft"; at: number };
const NONE: PurgeVerdict = { kind: "none" };

/** host + path + normalised query: the same for a purge URL and every request it should cover. */
export function fileIdentity(host: string, path: string, normalizedQuery: string): string {
  return normalizedQuery ? `${host}${path}?${normalizedQuery}` : `${host}${path}`;
}

export class PurgeLedger {
  everything: Marks = [0, 0];
  readonly items: Record<ItemKind, Map<string, Marks>> = { hosts: new Map(), prefixes: new Map(), files: new Map(), tags: new Map() };
  /** The latest purge of any kind: entries stored after it need no further checks (the hot path). */
  newestAt = 0;

  get size(): number {
    return ITEM_KINDS.reduce((total, kind) => total + this.items[kind].size, 0);
  }

  add(purge: PurgeItems, at: number, soft: boolean): void {
    const slot = soft ? 1 : 0;
    if (purge.everything) this.everything[slot] = Math.max(this.everything[slot], at);
    for (const kind of ITEM_KINDS) {
      for (const name of purge[kind] ?? []) {
        const marks = this.items[kind].get(name) ?? [0, 0];
        marks[slot] = Math.max(marks[slot], at);
        this.items[kind].set(name, marks);
      }
    }
    this.newestAt = Math.max(this.newestAt, at);
  }

  /** Takes every mark of `other` that is newer than ours. Merging is idempotent and order-free. */
  merge(other: LedgerDocument): void {
    this.everything = maxMarks(this.everything, other.everything);
    let newest = Math.max(this.newestAt, ...other.everything);
    for (const kind of ITEM_KINDS) {
      for (const [name, marks] of Object.entries(other.items[kind] ?? {})) {
        const mine = this.items[kind].get(name);
        this.items[kind].set(name, mine ? maxMarks(mine, marks) : [marks[0], marks[1]]);
        newest = Math.max(newest, marks[0], marks[1]);
      }
    }
    this.newestAt = newest;
  }

  verdict(target: PurgeTarget): PurgeVerdict {
    if (target.storedAt >= this.newestAt) return NONE;
    let hardAt = this.everything[0];
    let softAt = this.everything[1];
    const take = (marks: Marks | undefined) => {
      if (!marks) return;
      hardAt = Math.max(hardAt, marks[0]);
      softAt = Math.max(softAt, marks[1]);
    };
    const { hosts, prefixes, files, tags } = this.items;
    if (hosts.size > 0) take(hosts.get(target.host));
    if (prefixes.size > 0) for (const prefix of pathPrefixes(target.host, target.path)) take(prefixes.get(prefix));
    if (files.size > 0) take(files.get(target.file()));
    if (tags.size > 0 && target.tags) for (const tag of target.tags) take(tags.get(tag));
    if (target.storedAt < hardAt) return { kind: "hard", at: hardAt };
    if (target.storedAt < softAt) return { kind: "soft", at: softAt };
    return NONE;
  }

  /**
   * Drops items older than any entry can be, then folds the oldest items into "everything" while
   * there are too many: a later read then treats more entries as purged, never fewer.
   */
  prune(now: number): void {
    const all: Array<{ kind: ItemKind; name: string; latest: number; marks: Marks }> = [];
    for (const kind of ITEM_KINDS) {
      for (const [name, marks] of this.items[kind]) {
        const latest = Math.max(marks[0], marks[1]);
        if (now - latest > LEDGER_ITEM_LIFETIME_MS) this.items[kind].delete(name);
        else all.push({ kind, name, latest, marks });
      }
    }
    if (all.length <= MAX_LEDGER_ITEMS) return;
    all.sort((a, b) => a.latest - b.latest);
    for (const oldest of all.slice(0, all.length - MAX_LEDGER_ITEMS)) {
      this.everything = maxMarks(this.everything, oldest.marks);
      this.items[oldest.kind].delete(oldest.name);
    }
  }

  toDocument(): LedgerDocument {
    const items = Object.fromEntries(ITEM_KINDS.map((kind) => [kind, Object.fromEntries(this.items[kind])])) as LedgerDocument["items"];
    return { v: 1, everything: [...this.everything], items };
  }

  /** Counts per kind, for status. */
  describe(): { everything: Marks; items: Record<ItemKind, number>; newestAt: number } {
    const items = Object.fromEntries(ITEM_KINDS.map((kind) => [kind, this.items[kind].size])) as Record<ItemKind, number>;
    return { everything: [...this.everything], items, newestAt: this.newestAt };
  }
}

/** "host", "host/a", "host/a/b" ... for /a/b: the prefixes a Cloudflare-style prefix purge can name. */
function* pathPrefixes(host: string, path: string): Generator<string> {
  yield host;
  let end = path.indexOf("/", 1);
  while (end !== -1) {
    yield host + path.slice(0, end);
    end = path.indexOf("/", end + 1);
  }
  if (path.length > 1) yield host + (path.endsWith("/") ? path.slice(0, -1) : path);
}

function maxMarks(a: Marks, b: Marks): Marks {
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
}

function isMarks(value: unknown): value is Marks {
  return Array.isArray(value) && value.length === 2 && value.every((time) => typeof time === "number" && Number.isFinite(time));
}

/** Anything unreadable is ignored (treated as no purges), never an error on the request path. */
export function isLedgerDocument(value: unknown): value is LedgerDocument {
  if (typeof value !== "object" || value === null) return false;
  const document = value as Partial<LedgerDocument>;
  if (document.v !== 1 || !isMarks(document.everything) || typeof document.items !== "object" || document.items === null) return false;
  return ITEM_KINDS.every((kind) => {
    const items = document.items![kind];
    return items === undefined || (typeof items === "object" && items !== null && Object.values(items).every(isMarks));
  });
}

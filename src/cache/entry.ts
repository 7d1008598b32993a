// What a cache tier holds under a key, in one value (one read on a hit): a 4-byte length, a JSON
// header, then the body. The header is versioned; anything unreadable is a miss, never an error.
import type { EntryTimes } from "./freshness.ts";

/**
 * No tier keeps a record longer than this, whatever its freshness: the purge ledger forgets purges
 * after the same time (purge/purge-ledger.ts), so an entry can never outlive the purge that covers it.
 */
export const MAX_RETENTION_SECONDS = 30 * 86_400;

export const ENTRY_FORMAT_VERSION = 1;

/** A stored response. */
export interface ResponseEntryMeta extends EntryTimes {
  v: typeof ENTRY_FORMAT_VERSION;
  kind: "response";
  status: number;
  headers: Array<[string, string]>;
  /** Purge tags from Cache-Tag / Surrogate-Key (cache-tags.ts), when the origin sent any. */
  tags?: string[];
}

/**
 * Stored at a URL's key when its responses vary (Vary): names the request headers that select a
 * variant. `generation` is part of every variant key, so invalidating the marker orphans them all.
 */
export interface VaryMarkerMeta {
  v: typeof ENTRY_FORMAT_VERSION;
  kind: "vary";
  headers: string[];
  generation: string;
  /** The marker lives as long as its longest-lived variant might. */
  expiresAt: number;
}

export type EntryMeta = ResponseEntryMeta | VaryMarkerMeta;

/** A body as stored: its own buffer, or a view into the value read from a tier (no copy). */
export type StoredBody = ArrayBuffer | Uint8Array<ArrayBuffer>;

export type StoredResponse = {
  meta: ResponseEntryMeta;
  body: StoredBody;
  /** meta.headers as a Headers object, prepared once when the hot tier takes the entry; never mutated. */
  headers?: Headers;
};
/** A stored response's header field (names are stored lower-case), without building a Headers object. */
export function storedHeader(stored: StoredResponse, name: string): string | null {
  return stored.meta.headers.find(([field]) => field === name)?.[1] ?? null;
}

export type StoredRecord = StoredResponse | { meta: VaryMarkerMeta; body: StoredBody };

export function encodeRecord(meta: EntryMeta, body: StoredBody = new ArrayBuffer(0)): ArrayBuffer {
  const header = new TextEncoder().encode(JSON.stringify(meta));
  const out = new Uint8Array(4 + header.length + body.byteLength);
  new DataView(out.buffer).setUint32(0, header.length);
  out.set(header, 4);
  out.set(body instanceof Uint8Array ? body : new Uint8Array(body), 4 + header.length);
  return out.buffer;
}

export function decodeRecord(data: ArrayBuffer): StoredRecord | undefined {
  if (data.byteLength < 4) return undefined;
  const headerLength = new DataView(data).getUint32(0);
  if (4 + headerLength > data.byteLength) return undefined;
  try {
    const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 4, headerLength))) as EntryMeta;
    if (meta?.v !== ENTRY_FORMAT_VERSION || (meta.kind !== "response" && meta.kind !== "vary")) return undefined;
    return { meta, body: new Uint8Array(data, 4 + headerLength) } as StoredRecord;
  } catch {
    return undefined;
  }
}

/** How long a storage tier should keep a record: until nothing about it can be used any more. */
export function retentionSeconds(meta: EntryMeta, now: number): number {
  const until = meta.kind === "vary" ? meta.expiresAt : meta.keepUntilAt;
  return Math.min(MAX_RETENTION_SECONDS, Math.ceil((until - now) / 1000));
}

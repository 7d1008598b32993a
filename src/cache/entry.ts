// What a cache tier holds under a key, in one value (one read on a hit): a 4-byte length, a JSON
// header, then the body. The header is versioned; anything unreadable is a miss, never an error.
import { headersOf } from "../lib/headers.ts";
import { withLength } from "../lib/streams.ts";
import type { EntryTimes } from "./freshness.ts";

/**
 * No tier keeps a record longer than this, whatever its freshness: the purge ledger forgets purges
 * after the same time (purge/purge-ledger.ts), so an entry can never outlive the purge that covers it.
 */
export const MAX_RETENTION_SECONDS = 30 * 86_400;

export const ENTRY_FORMAT_VERSION = 1;

/** Shared: each read of a record would otherwise build a decoder (stateless for whole inputs). */
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder();

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
  /** The whole record (encodeRecord's layout) when a fill built it while reading the body; `body` is a view into it. */
  encoded?: ArrayBuffer;
  /** meta.headers as a Headers object, prepared once (decodeRecord, or the hot tier taking the entry); never mutated. */
  headers?: Headers;
};

/**
 * A large stored body as it arrives from its tier (tiered-store.ts): handed to one client as a
 * stream, never held whole in the isolate, where 128 MB are shared by every request in flight.
 */
export class StreamedBody {
  readonly stream: ReadableStream<Uint8Array>;
  readonly byteLength: number;
  constructor(stream: ReadableStream<Uint8Array>, byteLength: number) {
    this.stream = stream;
    this.byteLength = byteLength;
  }
  /** The rest of the body, read whole: for what needs the bytes (revalidation, storing again). */
  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await new Response(this.stream).arrayBuffer());
  }
}

/** A stored response found in a storage tier too large to read whole: its header parsed, its body still streaming. */
export type StreamedResponse = Omit<StoredResponse, "body" | "encoded"> & { body: StreamedBody };

/** A stored response as a lookup finds it: whole, or streaming (large, from a storage tier). */
export type FoundResponse = StoredResponse | StreamedResponse;

export function isStreamed(stored: FoundResponse): stored is StreamedResponse {
  return stored.body instanceof StreamedBody;
}

/** The response with its body in memory: a streaming one is read whole (the only case that waits). */
export function wholeResponse(stored: FoundResponse): StoredResponse | Promise<StoredResponse> {
  if (!isStreamed(stored)) return stored;
  return stored.body.bytes().then((body) => ({ ...stored, body }));
}

/** Lets go of a body that will not be sent: a streaming one is cancelled, so its tier read ends. */
export function discardBody(body: StoredBody | StreamedBody): void {
  if (body instanceof StreamedBody) void body.stream.cancel();
}

/** A stored response's header field (names are stored lower-case), without building a Headers object. */
export function storedHeader(stored: Pick<FoundResponse, "meta">, name: string): string | null {
  return stored.meta.headers.find(([field]) => field === name)?.[1] ?? null;
}

export type StoredRecord = StoredResponse | { meta: VaryMarkerMeta; body: StoredBody };

/** The record's first bytes: the header's length, then the header. */
export function encodeRecordHead(meta: EntryMeta): Uint8Array<ArrayBuffer> {
  const header = UTF8_ENCODER.encode(JSON.stringify(meta));
  const head = new Uint8Array(4 + header.length);
  new DataView(head.buffer).setUint32(0, header.length);
  head.set(header, 4);
  return head;
}

export function encodeRecord(meta: EntryMeta, body: StoredBody = new ArrayBuffer(0)): ArrayBuffer {
  const head = encodeRecordHead(meta);
  const out = new Uint8Array(head.length + body.byteLength);
  out.set(head, 0);
  out.set(body instanceof Uint8Array ? body : new Uint8Array(body), head.length);
  return out.buffer;
}

interface ParsedHeader {
  meta: EntryMeta;
  /** A response's fields as a Headers object to copy (see StoredResponse.headers). */
  headers?: Headers;
}

// ---- What a record costs in memory (the hot tier and the parsed-header memo count it) ----

/** A string's bytes counted at two per character: V8 keeps text beyond Latin-1 in two-byte strings (an upper bound). */
const BYTES_PER_CHAR = 2;
/** Per header field: its [name, value] array, two string headers, and its slot in a Headers object. */
const FIELD_OVERHEAD_BYTES = 96;
/** Per record: the record and meta objects, their numbers, a Map slot. */
const RECORD_OVERHEAD_BYTES = 512;

/** The bytes a decoded header keeps alive: its fields as strings, and again in a Headers object when it has one. */
export function metaBytes(meta: EntryMeta, withHeadersObject: boolean): number {
  let bytes = RECORD_OVERHEAD_BYTES;
  if (meta.kind === "vary") {
    for (const name of meta.headers) bytes += name.length * BYTES_PER_CHAR + FIELD_OVERHEAD_BYTES;
    return bytes + meta.generation.length * BYTES_PER_CHAR;
  }
  const copies = withHeadersObject ? 2 : 1;
  for (const [name, value] of meta.headers) bytes += (name.length + value.length) * BYTES_PER_CHAR * copies + FIELD_OVERHEAD_BYTES;
  for (const tag of meta.tags ?? []) bytes += tag.length * BYTES_PER_CHAR + FIELD_OVERHEAD_BYTES;
  return bytes;
}

/** The buffer a body keeps alive: a view keeps its whole buffer (decodeRecord's body keeps the whole value). */
function bufferBytes(body: StoredBody): number {
  return body instanceof Uint8Array ? body.buffer.byteLength : body.byteLength;
}

/**
 * What a record held in memory really costs: its body's whole buffer, the encoded record when that
 * is another buffer, and its header decoded (strings, and the prepared Headers object). Counting the
 * body alone let 4,000 entries with 64 KB of headers each take 1.19 GB.
 */
export function recordBytes(record: StoredRecord): number {
  let bytes = bufferBytes(record.body) + metaBytes(record.meta, "headers" in record && record.headers !== undefined);
  const encoded = "encoded" in record ? record.encoded : undefined;
  if (encoded && !(record.body instanceof Uint8Array && record.body.buffer === encoded) && record.body !== encoded) bytes += encoded.byteLength;
  return bytes;
}

/**
 * Record headers already parsed in this isolate, by their exact text: an entry read again from KV or
 * the Cache API skips JSON.parse and gets its prepared Headers (together the largest part of a
 * storage-tier hit's own work). What is shared is never mutated, as with the hot tier's records.
 * Bounded by bytes (PARSED_HEADERS_MAX_BYTES, counting the text, the parsed fields and their Headers
 * object: metaBytes), headers up to PARSED_HEADER_MAX_CHARS of text only (most are under 1 KB);
 * cleared when full.
 */
const parsedHeaders = new Map<string, ParsedHeader>();
let parsedHeadersBytes = 0;
export const PARSED_HEADERS_MAX_BYTES = 2 * 1024 * 1024;
const PARSED_HEADER_MAX_CHARS = 4096;

/** The memo's size (admin status, tests). */
export function parsedHeaderMemoSize(): { entries: number; bytes: number } {
  return { entries: parsedHeaders.size, bytes: parsedHeadersBytes };
}

function parseHeader(text: string): ParsedHeader | undefined {
  const known = parsedHeaders.get(text);
  if (known) return known;
  const meta = JSON.parse(text) as EntryMeta;
  if (meta?.v !== ENTRY_FORMAT_VERSION || (meta.kind !== "response" && meta.kind !== "vary")) return undefined;
  const parsed = { meta, headers: meta.kind === "response" ? headersOf(meta.headers) : undefined };
  if (text.length > PARSED_HEADER_MAX_CHARS) return parsed;
  const bytes = text.length * BYTES_PER_CHAR + metaBytes(meta, parsed.headers !== undefined);
  if (parsedHeadersBytes + bytes > PARSED_HEADERS_MAX_BYTES) {
    parsedHeaders.clear();
    parsedHeadersBytes = 0;
  }
  parsedHeaders.set(text, parsed);
  parsedHeadersBytes += bytes;
  return parsed;
}

export function decodeRecord(data: ArrayBuffer): StoredRecord | undefined {
  if (data.byteLength < 4) return undefined;
  const headerLength = new DataView(data).getUint32(0);
  if (4 + headerLength > data.byteLength) return undefined;
  try {
    const parsed = parseHeader(UTF8_DECODER.decode(new Uint8Array(data, 4, headerLength)));
    return parsed && ({ meta: parsed.meta, headers: parsed.headers, body: new Uint8Array(data, 4 + headerLength) } as StoredRecord);
  } catch {
    return undefined;
  }
}

/**
 * The record in a stream of `byteLength` bytes (a large value from a tier), its body left streaming,
 * or undefined (the stream cancelled) when it is unreadable or not a response. Only the header's
 * bytes, and what arrived with them, are read here.
 */
export async function readStreamedRecord(stream: ReadableStream<Uint8Array>, byteLength: number): Promise<StreamedResponse | undefined> {
  const reader = stream.getReader();
  let received: Uint8Array = new Uint8Array(0);
  try {
    let headerLength: number | undefined;
    while (headerLength === undefined || received.length < 4 + headerLength) {
      if (headerLength === undefined && received.length >= 4) {
        headerLength = new DataView(received.buffer, received.byteOffset).getUint32(0);
        if (4 + headerLength > byteLength) throw new Error("header longer than the value");
        continue;
      }
      const chunk = await reader.read();
      if (chunk.done) throw new Error("value shorter than its header");
      received = received.length === 0 ? chunk.value : concatBytes(received, chunk.value);
    }
    const parsed = parseHeader(UTF8_DECODER.decode(received.subarray(4, 4 + headerLength)));
    if (parsed?.meta.kind !== "response") throw new Error("not a response");
    reader.releaseLock();
    const bodyLength = byteLength - 4 - headerLength;
    return { meta: parsed.meta, headers: parsed.headers, body: new StreamedBody(withLength(stream, bodyLength, received.subarray(4 + headerLength)), bodyLength) };
  } catch {
    await reader.cancel().catch(() => {});
    return undefined;
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

/**
 * Reads `stream` into `record` from `offset` to its end with a BYOB reader, or returns undefined
 * (nothing read) when the stream has none (a stream built in JS). `done` when the stream ended (it
 * may end short of the record's end); otherwise its lock is released for what may follow.
 */
async function readInPlace(
  stream: ReadableStream<Uint8Array>,
  record: Uint8Array<ArrayBuffer>,
  offset: number,
  signal: AbortSignal | undefined,
): Promise<{ record: Uint8Array<ArrayBuffer>; total: number; done: boolean } | undefined> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
  const stopCancelling = cancelOnAbort(reader, signal);
  // Each read transfers the buffer and hands it back in `value`: keep reading into the returned one.
  let buffer = record.buffer;
  let at = offset;
  let done = false;
  while (at < buffer.byteLength) {
    const read = await reader.read(new Uint8Array(buffer, at, buffer.byteLength - at));
    if (read.value) buffer = read.value.buffer as ArrayBuffer;
    if (read.done) {
      done = true;
      break;
    }
    at += read.value.byteLength;
  }
  stopCancelling();
  signal?.throwIfAborted();
  reader.releaseLock();
  return { record: new Uint8Array(buffer), total: at - offset, done };
}

/** How long a storage tier should keep a record: until nothing about it can be used any more. */
export function retentionSeconds(meta: EntryMeta, now: number): number {
  const until = meta.kind === "vary" ? meta.expiresAt : meta.keepUntilAt;
  return Math.min(MAX_RETENTION_SECONDS, Math.ceil((until - now) / 1000));
}

/**
 * Cancels `reader` (the body is not read on) when `signal` aborts, until the returned stop is
 * called. The read in progress then ends as if the stream had; the caller checks the signal after it.
 */
function cancelOnAbort(reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader, signal: AbortSignal | undefined): () => void {
  const cancel = () => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  return () => signal?.removeEventListener("abort", cancel);
}

/** Bytes a fill holds, reserved from the isolate's fill budget (fill-budget.ts); growing can fail. */
export interface ByteReservation {
  /** Sets the reservation to `bytes`; false (nothing changed) when the budget cannot grow to it. */
  resize(bytes: number): boolean;
}

/**
 * The stored record (head, then the whole body) read from the stream, or undefined (the stream
 * cancelled) past `limit` bytes, or when `reservation` cannot grow to what is held. With a
 * Content-Length the record is allocated once and chunks land in place: the body is held once, not
 * as chunks, then a body, then a record (a 25 MiB object would otherwise need 75 MiB of a 128 MB
 * isolate). The length is only a hint: the runtime decodes compressed bodies, so the bytes read may
 * differ from it; then chunks are kept and joined once (held twice while joining, and reserved so).
 */
export async function readRecord(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  head: Uint8Array<ArrayBuffer>,
  declaredLength: number | undefined,
  reservation: ByteReservation = { resize: () => true },
  signal?: AbortSignal,
): Promise<{ encoded: ArrayBuffer; body: Uint8Array<ArrayBuffer> } | undefined> {
  signal?.throwIfAborted();
  let stream = body;
  const hinted = stream !== null && declaredLength !== undefined && Number.isSafeInteger(declaredLength) && declaredLength >= 0 && declaredLength <= limit;
  if (!reservation.resize(head.length + (hinted ? declaredLength : 0))) {
    await stream?.cancel();
    return undefined;
  }
  let record = hinted ? new Uint8Array(head.length + declaredLength) : undefined;
  let reserved = head.length + (hinted ? declaredLength : 0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (stream && record) {
    // The announced bytes are read straight into the record where the stream allows it (a body
    // from fetch does): no chunk is allocated and then copied, which doubled what a fill held until
    // the GC ran (four concurrent 8 MB fills among 16 misses: workerd RSS +89 MiB with chunks, +60 MiB
    // in place, of which 25 MiB stream the 16 answers: bench/lib/memory.mjs).
    const filled = await readInPlace(stream, record, head.length, signal);
    if (filled) {
      record = filled.record;
      total = filled.total;
      if (filled.done) stream = null;
    }
  }
  if (stream) {
    const reader = stream.getReader();
    const stopCancelling = cancelOnAbort(reader, signal);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      const size = chunk.value.byteLength;
      const holding = head.length + total + size;
      if (total + size > limit || (holding > reserved && !reservation.resize((reserved = holding)))) {
        stopCancelling();
        await reader.cancel();
        return undefined;
      }
      if (record && holding > record.length) {
        chunks.push(record.subarray(head.length, head.length + total)); // longer than announced
        record = undefined;
      }
      if (record) record.set(chunk.value, head.length + total);
      else chunks.push(chunk.value);
      total += size;
    }
    stopCancelling();
    signal?.throwIfAborted(); // a cancelled read ends like the stream's end: not a whole body
  }
  if (record && head.length + total < record.length) record = record.slice(0, head.length + total); // shorter than announced
  if (!record) {
    // The chunks and the joined record are both alive until the join ends.
    if (!reservation.resize(head.length + 2 * total)) return undefined;
    record = new Uint8Array(head.length + total);
    let offset = head.length;
    for (const chunk of chunks) {
      record.set(chunk, offset);
      offset += chunk.byteLength;
    }
  }
  reservation.resize(head.length + total);
  record.set(head, 0);
  return { encoded: record.buffer, body: record.subarray(head.length) };
}

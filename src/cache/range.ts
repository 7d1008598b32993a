// Byte ranges served from a stored full response (RFC 9110 §14). One range per request: a request
// for several ranges gets the whole representation, which RFC 9110 §14.2 allows.
import { withLength } from "../lib/streams.ts";
import { parseHttpDate } from "./http-date.ts";

export type RangeDecision =
  | { kind: "full" }
  | { kind: "partial"; start: number; end: number }
  | { kind: "unsatisfiable" };

/**
 * A single range is a few dozen bytes. Longer values are ignored before any pattern runs: the
 * pattern's optional white space backtracks quadratically on hostile input (32 KiB of spaces cost
 * seconds of CPU), and 256 bytes bound that to microseconds.
 */
const MAX_RANGE_HEADER_LENGTH = 256;

export function decideRange(rangeHeader: string | null, size: number): RangeDecision {
  if (rangeHeader === null || rangeHeader.length > MAX_RANGE_HEADER_LENGTH) return { kind: "full" };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(rangeHeader);
  // Other units, several ranges or malformed syntax: ignore the header (RFC 9110 §14.2).
  if (!match || (match[1] === "" && match[2] === "")) return { kind: "full" };
  const [, first, last] = match;
  if (first === "") {
    // Suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return { kind: "full" }; // invalid range-spec
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", start, end };
}

/**
 * If-Range (RFC 9110 §13.1.5): the range applies only if the validator still matches; it must be a
 * strong ETag match, or a Last-Modified date equal to the stored one.
 */
export function ifRangeAllows(ifRange: string | null, storedHeaders: Headers, now: number): boolean {
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"')) return storedHeaders.get("etag") === value;
  if (value.startsWith("W/")) return false;
  const date = parseHttpDate(value, now);
  const lastModified = parseHttpDate(storedHeaders.get("last-modified"), now);
  return date !== undefined && date === lastModified;
}

/**
 * Bytes `start`..`end` (inclusive) of a streaming body (a large entry: entry.ts), the bytes before
 * passing by unkept and the rest never read, as a stream of declared length (its Content-Length).
 */
export function sliceStream(stream: ReadableStream<Uint8Array>, start: number, end: number): ReadableStream<Uint8Array> {
  let offset = 0;
  const slicer = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      const from = Math.max(0, start - offset);
      const to = Math.min(chunk.length, end + 1 - offset);
      offset += chunk.length;
      if (from < to) controller.enqueue(chunk.subarray(from, to));
      if (offset > end) controller.terminate(); // cancels the source: the rest is not read
    },
  });
  return withLength(stream.pipeThrough(slicer), end - start + 1);
}

// Answering a client's conditional GET/HEAD from a stored response (RFC 9110 §13.1, §13.2.2;
// RFC 9111 §4.3.2).
import { parseHttpDate } from "./http-date.ts";

/** Weak comparison (RFC 9110 §8.8.3.2): W/"x" and "x" match. */
function weakEqual(a: string, b: string): boolean {
  return a.replace(/^W\//, "") === b.replace(/^W\//, "");
}

function entityTags(list: string): string[] {
  return list.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

export type HeaderLookup = (name: string) => string | null;

/**
 * Whether the stored response is unchanged as far as the request's preconditions can tell.
 * `receivedAt` is when the stored response arrived; `now` reads two-digit years (http-date.ts).
 */
export function isNotModified(requestHeaders: Headers, storedHeader: HeaderLookup, receivedAt: number, now: number): boolean {
  const ifNoneMatch = requestHeaders.get("if-none-match");
  if (ifNoneMatch !== null) {
    const etag = storedHeader("etag");
    if (ifNoneMatch.trim() === "*") return true;
    return etag !== null && entityTags(ifNoneMatch).some((tag) => weakEqual(tag, etag));
  }
  // If-Modified-Since counts only without If-None-Match, and is ignored unless it is one valid
  // HTTP-date (RFC 9110 §13.1.3): `2030-01-01` is no date, so no 304.
  const ifModifiedSince = parseHttpDate(requestHeaders.get("if-modified-since"), now);
  if (ifModifiedSince === undefined) return false;
  // The stored response's Last-Modified; without one its Date; without that, when it was received
  // (RFC 9111 §4.3.2).
  const modifiedAt = parseHttpDate(storedHeader("last-modified"), now) ?? parseHttpDate(storedHeader("date"), now) ?? receivedAt;
  return modifiedAt <= ifModifiedSince;
}

/** Fields a 304 carries (RFC 9110 §15.4.5); the body and its metadata are left out. */
const NOT_MODIFIED_FIELDS = ["cache-control", "content-location", "date", "etag", "expires", "vary", "last-modified", "age", "cache-status", "via"];

export function notModifiedHeaders(headers: Headers): Headers {
  const kept = new Headers();
  for (const name of NOT_MODIFIED_FIELDS) {
    const value = headers.get(name);
    if (value !== null) kept.set(name, value);
  }
  return kept;
}

// Answering a client's conditional GET/HEAD from a stored response (RFC 9110 §13.1, §13.2.2).
import { parseHttpDate } from "./freshness.ts";

/** Weak comparison (RFC 9110 §8.8.3.2): W/"x" and "x" match. */
function weakEqual(a: string, b: string): boolean {
  return a.replace(/^W\//, "") === b.replace(/^W\//, "");
}

function entityTags(list: string): string[] {
  return list.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

export type HeaderLookup = (name: string) => string | null;

/** Whether the stored response is unchanged as far as the request's preconditions can tell. */
export function isNotModified(requestHeaders: Headers, storedHeader: HeaderLookup): boolean {
  const ifNoneMatch = requestHeaders.get("if-none-match");
  if (ifNoneMatch !== null) {
    const etag = storedHeader("etag");
    if (ifNoneMatch.trim() === "*") return true;
    return etag !== null && entityTags(ifNoneMatch).some((tag) => weakEqual(tag, etag));
  }
  // If-Modified-Since is evaluated only without If-None-Match (RFC 9110 §13.1.3).
  const ifModifiedSince = parseHttpDate(requestHeaders.get("if-modified-since"));
  const lastModified = parseHttpDate(storedHeader("last-modified"));
  return ifModifiedSince !== undefined && lastModified !== undefined && lastModified <= ifModifiedSince;
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

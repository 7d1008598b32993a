// A 304 (Not Modified) to the cache's own conditional request: does it vouch for the stored response
// (RFC 9111 §4.3.4), and which of its fields update it (RFC 9111 §3.2).
import type { HeaderLookup } from "./conditional.ts";

const isWeak = (tag: string) => tag.startsWith("W/");
const opaque = (tag: string) => (isWeak(tag) ? tag.slice(2) : tag);

/**
 * RFC 9111 §4.3.4, "Freshening Stored Responses upon Validation". Outpost holds one stored response
 * per request (the one whose validators the request carried), and it is selected for update only when:
 * - "If the new response contains one or more strong validators ..., then each of those strong
 *   validators identify a selected representation for update. ... If none of the stored responses
 *   contain at least one of the same strong validators, then the cache MUST NOT use the new response
 *   to update any stored responses." A strong ETag on the 304 must equal the stored strong ETag
 *   (strong comparison, RFC 9110 §8.8.3.2).
 * - "If the new response contains no strong validators but does contain one or more weak validators,
 *   and those validators correspond to one of the cache's stored responses, then the most recent of
 *   those matching stored responses is identified for update." A weak ETag matches weakly; a
 *   Last-Modified (without ETag) must equal the stored Last-Modified.
 * - A 304 without any validator: Outpost's conditional request carried exactly one stored response's
 *   validators, so the 304 can only be the answer about that response. Origins often omit ETag on a
 *   304 although RFC 9110 §15.4.5 asks for it; asking again without validators would turn every such
 *   revalidation into a full download (and the http-cache-tests suite expects the 304 to be used).
 *   Deliberately looser than §4.3.4's literal rule for several stored responses; a 304 naming a
 *   DIFFERENT validator still never updates the entry.
 */
export function selectsStoredResponse(notModified: Headers, stored: HeaderLookup): boolean {
  const etag = notModified.get("etag")?.trim();
  const storedEtag = stored("etag")?.trim() ?? null;
  if (etag) {
    if (storedEtag === null) return false;
    if (!isWeak(etag)) return !isWeak(storedEtag) && etag === storedEtag;
    return opaque(etag) === opaque(storedEtag);
  }
  const lastModified = notModified.get("last-modified");
  if (lastModified !== null) return lastModified.trim() === (stored("last-modified")?.trim() ?? null);
  return true;
}

/**
 * Fields a 304 does not replace in the stored response (RFC 9111 §3.2):
 * - Content-Length ("with the following exceptions: ... The Content-Length header field");
 * - fields describing the stored bytes, which a cache "MAY omit ... to assure integrity of the stored
 *   response": Content-Encoding (the runtime may have decoded the body), Content-Range ("automatically
 *   processed ... implementations MAY simply ignore such header fields"), Content-MD5, and the
 *   validator itself. Content-Type is updated: the bytes are kept as received, not processed by type.
 * - Transfer-Encoding (hop-by-hop, never stored: §3.1).
 * - Set-Cookie: addressed to the one client whose request caused the 304 (Outpost's rule; a stored
 *   response never carries it). fill-from-origin.ts hands it to that client alone.
 */
const KEPT_ON_UPDATE: ReadonlySet<string> = new Set(["content-length", "content-encoding", "content-md5", "content-range", "etag", "transfer-encoding", "set-cookie"]);

/** Whether a 304's field `name` replaces the stored one (RFC 9111 §3.2). `via` is the cache's own. */
export function updatesStoredField(name: string): boolean {
  return !KEPT_ON_UPDATE.has(name) && name !== "via";
}

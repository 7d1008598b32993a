// The cache key: which requests share a stored response. Scheme + host + path + normalised query,
// plus the dimensions a route declares (headers, cookies, visitor country), under a versioned prefix
// so a `cache_version` change starts from an empty cache. Keys longer than KV allows are hashed.
import type { CachePolicy } from "../config/schema.ts";

/** v2: dimension names and values and "|" in paths are percent-encoded, so no part can forge a separator. */
const KEY_FORMAT_VERSION = "v2";
/** KV keys are limited to 512 bytes; leave room for variant suffixes. */
const MAX_PLAIN_KEY_BYTES = 400;
/** Query parameters that only track visitors and never change content. */
const TRACKING_PARAMETER = /^(utm_[a-z0-9_]+|gclid|gbraid|wbraid|dclid|fbclid|msclkid|yclid|twclid|ttclid|igshid|mc_cid|mc_eid|_ga|_gl|_hsenc|_hsmi|mkt_tok)$/i;

function isKeptParameter(name: string, query: CachePolicy["query"]): boolean {
  if (query.allow && !query.allow.includes(name)) return false;
  if (query.deny.includes(name)) return false;
  return !(query.strip_tracking && TRACKING_PARAMETER.test(name));
}

export function normalizeQuery(search: string, query: CachePolicy["query"]): string {
  if (search === "" || search === "?") return ""; // the common case, without URLSearchParams
  const params = [...new URLSearchParams(search)].filter(([name]) => isKeptParameter(name, query));
  if (query.sort) params.sort(([a, av], [b, bv]) => (a === b ? compare(av, bv) : compare(a, b)));
  return new URLSearchParams(params).toString();
}

/**
 * The query a cache fill sends to the origin: without the parameters the key leaves out, so the
 * stored answer cannot reflect a value other visitors' requests never carried ("unkeyed parameter"
 * poisoning). Undefined when nothing is left out: the query then goes as the client wrote it.
 */
export function queryForFill(search: string, query: CachePolicy["query"]): string | undefined {
  if (search === "" || search === "?") return undefined;
  const params = [...new URLSearchParams(search)];
  const kept = params.filter(([name]) => isKeptParameter(name, query));
  if (kept.length === params.length) return undefined;
  const text = new URLSearchParams(kept).toString();
  return text ? `?${text}` : "";
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Cookie header -> name/value pairs (RFC 6265 §5.4 form). The runtime joins several Cookie fields
 * with ", ", so ", " followed by a cookie name also separates pairs.
 */
export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (header ?? "").split(/;|,\s*(?=[^\s=;,]+=)/)) {
    const equals = pair.indexOf("=");
    if (equals <= 0) continue;
    const name = pair.slice(0, equals).trim();
    if (!cookies.has(name)) cookies.set(name, pair.slice(equals + 1).trim());
  }
  return cookies;
}

/** A cookie name as the most lenient server framework reads it: percent-decoded, case folded. */
function foldCookieName(name: string): string {
  return (name.includes("%") ? name.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))) : name).toLowerCase();
}

/**
 * The first keyed cookie the Cookie header names twice with different values, or undefined. Servers
 * disagree on which one counts (the first, the last, names matched case-insensitively or decoded),
 * so the key could say one value while the origin answers for the other: such a request is neither
 * stored nor answered from the cache. Other keyed headers key by their whole (combined) value, as the
 * origin receives it, so two lines of them can only reach an entry of their own.
 */
export function ambiguousKeyedCookie(header: string | null, keyed: ReadonlyArray<string>): string | undefined {
  if (!header || keyed.length === 0) return undefined;
  const wanted = new Map(keyed.map((name) => [foldCookieName(name), name]));
  const seen = new Map<string, string>();
  for (const pair of header.split(/;|,\s*(?=[^\s=;,]+=)/)) {
    const equals = pair.indexOf("=");
    if (equals <= 0) continue;
    const folded = foldCookieName(pair.slice(0, equals).trim());
    const name = wanted.get(folded);
    if (name === undefined) continue;
    const value = pair.slice(equals + 1).trim();
    const earlier = seen.get(folded);
    if (earlier !== undefined && earlier !== value) return name;
    seen.set(folded, value);
  }
  return undefined;
}

export interface CacheKeyInput {
  url: URL;
  headers: Headers;
  country: string | undefined;
  routeName: string;
  cacheVersion: string;
  policy: CachePolicy;
}

/** The human-readable key (before hashing), for logs and explain. */
export function describeCacheKey({ url, headers, country, routeName, cacheVersion, policy }: CacheKeyInput): string {
  const query = normalizeQuery(url.search, policy.query);
  // "|" separates the key's parts: it may appear in a path (the URL parser leaves it), never as itself.
  const { pathname } = url;
  const path = pathname.includes("|") ? pathname.replaceAll("|", "%7C") : pathname;
  // The origin is scheme://host[:port], the host already lower-case (WHATWG URL): one read of the URL, not two.
  const base = `${url.origin}${path}${query ? `?${query}` : ""}`;
  const dimensions: string[] = [];
  for (const name of policy.key.headers) dimensions.push(`h:${name}=${encodeURIComponent((headers.get(name) ?? "").trim())}`);
  if (policy.key.cookies.length > 0) {
    const cookies = parseCookies(headers.get("cookie"));
    for (const name of policy.key.cookies) dimensions.push(`c:${encodeURIComponent(name)}=${encodeURIComponent(cookies.get(name) ?? "")}`);
  }
  if (policy.key.country) dimensions.push(`country=${encodeURIComponent(country ?? "")}`);
  return [`outpost:${KEY_FORMAT_VERSION}:${cacheVersion}:${routeName}`, base, ...dimensions].join("|");
}

/** Whether a route's key depends on the URL alone: no header, cookie or country dimension. */
export function isKeyedByUrlOnly(policy: CachePolicy): boolean {
  return policy.key.headers.length === 0 && policy.key.cookies.length === 0 && !policy.key.country;
}

/** The key, or a promise of it when it is too long for KV and must be hashed (the rare case). */
export function buildCacheKey(input: CacheKeyInput): string | Promise<string> {
  const plain = describeCacheKey(input);
  // A UTF-16 unit is at most 3 UTF-8 bytes: short keys need no encoding to know they fit.
  if (plain.length * 3 <= MAX_PLAIN_KEY_BYTES || new TextEncoder().encode(plain).length <= MAX_PLAIN_KEY_BYTES) return plain;
  return sha256Hex(plain).then((hash) => `outpost:${KEY_FORMAT_VERSION}:${input.cacheVersion}:${input.routeName}|sha256:${hash}`);
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

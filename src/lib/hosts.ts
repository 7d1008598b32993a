// Host names are normalised once, at the front door and in purge bodies, so keys, route matching,
// the purge ledger and invalidation all compare the same text: lower case (WHATWG URL already does
// this for request URLs), no trailing dot ("example.com." names the same host as "example.com",
// RFC 1034 §3.1), no default port (the URL parser drops :443 / :80 itself).

/** `hostname` in its one canonical spelling. */
export function normalizeHostname(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith(".") ? lower.replace(/\.+$/, "") : lower;
}

/** The request URL with its host normalised, or the same URL object when it already is (the usual case). */
export function normalizeRequestUrl(url: URL): URL {
  if (!url.hostname.endsWith(".")) return url;
  const normalized = new URL(url.href);
  normalized.hostname = normalizeHostname(url.hostname);
  return normalized;
}

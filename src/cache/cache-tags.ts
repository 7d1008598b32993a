// Purge tags an origin attaches to a response: Cloudflare's Cache-Tag (comma-separated) and Fastly's
// Surrogate-Key (space-separated). Case-insensitive, each at most 1,024 characters, as on Cloudflare;
// both headers are for the CDN only and are not passed on to visitors (deliver.ts).
export const CACHE_TAG_HEADERS = ["cache-tag", "surrogate-key"] as const;
export const MAX_TAG_LENGTH = 1_024;
/** Cloudflare's limit on the Cache-Tag header of one response; the rest is ignored. */
const MAX_TAG_HEADER_LENGTH = 16 * 1_024;

export function normalizeTag(tag: string): string {
  return tag.trim().toLowerCase();
}

/** The response's tags, canonical and de-duplicated; undefined when it has none (the common case). */
export function parseCacheTags(headers: Headers): string[] | undefined {
  const cacheTag = headers.get("cache-tag");
  const surrogateKey = headers.get("surrogate-key");
  if (cacheTag === null && surrogateKey === null) return undefined;
  const tags = new Set<string>();
  const take = (value: string | null, separator: RegExp) => {
    for (const raw of (value ?? "").slice(0, MAX_TAG_HEADER_LENGTH).split(separator)) {
      const tag = normalizeTag(raw);
      if (tag !== "" && tag.length <= MAX_TAG_LENGTH) tags.add(tag);
    }
  };
  take(cacheTag, /,/);
  take(surrogateKey, /\s+/);
  return tags.size > 0 ? [...tags] : undefined;
}

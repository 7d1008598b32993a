// The body of POST /__outpost/purge: Cloudflare's purge_cache shape, so operators reuse what they
// know ({"files"}, {"tags"}, {"prefixes"}, {"hosts"}, {"purge_everything": true}), plus "soft": true
// (Fastly's soft purge: stale, not gone). Every item is made canonical here, the same way a read
// describes the entry it found, so the ledger compares plain strings.
import * as z from "zod/mini";
import { normalizeQuery } from "../cache/cache-key.ts";
import { MAX_TAG_LENGTH, normalizeTag } from "../cache/cache-tags.ts";
import { formatIssues, type CompiledConfig } from "../config/validate-config.ts";
import { normalizeHostname, normalizeRequestUrl } from "../lib/hosts.ts";
import { matchRoute } from "../pipeline/match-route.ts";
import { fileIdentity, type PurgeItems } from "./purge-ledger.ts";

/** Cloudflare's per-call limit for files, tags, hosts and prefixes. */
const MAX_ITEMS_PER_PURGE = 100;

const list = <T extends z.ZodMiniType>(item: T) => z.optional(z.array(item).check(z.minLength(1, "must not be empty"), z.maxLength(MAX_ITEMS_PER_PURGE)));
const nonEmpty = z.string().check(z.trim(), z.minLength(1, "must not be empty"));

const purgeRequestSchema = z
  .strictObject({
    files: list(z.union([nonEmpty, z.strictObject({ url: nonEmpty, headers: z.optional(z.record(z.string(), z.string())) })])),
    tags: list(nonEmpty.check(z.maxLength(MAX_TAG_LENGTH, `must be at most ${MAX_TAG_LENGTH} characters`))),
    prefixes: list(nonEmpty),
    hosts: list(nonEmpty.check(z.regex(/^[A-Za-z0-9.-]+$/, "must be a host name (no scheme, port or path)"))),
    purge_everything: z.optional(z.literal(true)),
    soft: z._default(z.boolean(), false),
  })
  .check(
    z.refine((body) => [body.files, body.tags, body.prefixes, body.hosts, body.purge_everything].filter((kind) => kind !== undefined).length === 1, {
      message: "name exactly one of files, tags, prefixes, hosts or purge_everything",
    }),
  );

type ParsedPurge = { ok: true; items: PurgeItems; soft: boolean; count: number } | { ok: false; problems: string[] };

export function parsePurgeRequest(body: unknown, config: CompiledConfig): ParsedPurge {
  const parsed = purgeRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problems: formatIssues(parsed.error.issues) };
  const request = parsed.data;
  const problems: string[] = [];
  const items: PurgeItems = {};
  if (request.purge_everything) items.everything = true;
  if (request.tags) items.tags = request.tags.map(normalizeTag);
  if (request.hosts) items.hosts = request.hosts.map(normalizeHostname);
  if (request.prefixes) {
    items.prefixes = request.prefixes.flatMap((prefix, index) => {
      const url = parseUrl(/^https?:\/\//i.test(prefix) ? prefix : `https://${prefix}`);
      if (!url || url.search || url.hash) {
        problems.push(`prefixes[${index}]: must be a host and path such as "www.example.com/assets" (no query)`);
        return [];
      }
      return [url.hostname + (url.pathname === "/" ? "" : url.pathname.replace(/\/$/, ""))];
    });
  }
  if (request.files) {
    items.files = request.files.flatMap((file, index) => {
      const url = parseUrl(typeof file === "string" ? file : file.url);
      if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
        problems.push(`files[${index}]: must be an absolute http(s) URL`);
        return [];
      }
      const route = matchRoute(config, url);
      if (!route) {
        problems.push(`files[${index}]: no route matches ${url.host}${url.pathname}`);
        return [];
      }
      // Headers (Cloudflare's way to name one variant) are accepted; every variant of the URL is purged.
      return [fileIdentity(url.hostname, url.pathname, normalizeQuery(url.search, route.cache.query))];
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  const count = request.purge_everything ? 1 : (items.tags ?? items.hosts ?? items.prefixes ?? items.files ?? []).length;
  return { ok: true, items, soft: request.soft, count };
}

/** The URL, its host normalised as requests' hosts are (lib/hosts.ts), or undefined. */
function parseUrl(text: string): URL | undefined {
  try {
    return normalizeRequestUrl(new URL(text));
  } catch {
    return undefined;
  }
}

// Stage: after a successful unsafe request (POST, PUT, DELETE, PATCH...), the stored responses for
// the target URI are invalidated (RFC 9111 §4.4), and, on routes that opt in
// (cache.invalidate_location_headers), those of a same-host Location / Content-Location too.
// Invalidating marks a URL stale in this isolate (cache/soft-invalidations.ts: why not delete): no
// storage I/O, no copy lost for stale-if-error, every variant and key dimension of the URL covered.
import { normalizeQuery } from "../cache/cache-key.ts";
import type { CompiledConfig, CompiledRoute } from "../config/validate-config.ts";
import { normalizeHostname } from "../lib/hosts.ts";
import { logEvent } from "../lib/log.ts";
import { fileIdentity } from "../purge/purge-ledger.ts";
import { matchRoute } from "./match-route.ts";
import type { PipelineDeps } from "./types.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const RELATED_FIELDS = ["location", "content-location"] as const;

export interface Invalidation {
  request: Request;
  /** The request URL, host normalised (app.ts). */
  url: URL;
  /** The route the request matched. */
  route: CompiledRoute;
  response: Response;
  config: CompiledConfig;
  deps: PipelineDeps;
}

/** What was marked, for tests and the log. */
export type InvalidationResult = { marked: string[]; throttled: number };

export function invalidateAfterUnsafeRequest({ request, url, route: requestRoute, response, config, deps }: Invalidation): InvalidationResult {
  const result: InvalidationResult = { marked: [], throttled: 0 };
  // §4.4: "a non-error status code" (2xx or 3xx).
  if (SAFE_METHODS.has(request.method) || response.status < 200 || response.status >= 400) return result;
  const now = deps.clock.now();
  const { invalidations, relatedInvalidations } = deps.cacheState;
  const markUrl = (target: URL) => {
    // A URL's entries are those of the route the URL itself matches, not the unsafe request's route.
    const route = target === url ? requestRoute : matchRoute(config, target);
    if (!route?.cache.enabled) return false;
    const identity = fileIdentity(target.hostname, target.pathname, normalizeQuery(target.search, route.cache.query));
    invalidations.mark(identity, now);
    result.marked.push(identity);
    return true;
  };
  markUrl(url);

  if (requestRoute.cache.invalidate_location_headers) {
    for (const name of RELATED_FIELDS) {
      const related = sameHostUrl(response.headers.get(name), url);
      if (!related || related.href === url.href) continue;
      // Throttled: responses name these URLs, and a client picks which responses it asks for.
      if (!relatedInvalidations.take(now)) {
        result.throttled += 1;
        continue;
      }
      markUrl(related);
    }
  }
  if (result.marked.length > 0 || result.throttled > 0) logEvent("info", "cache_invalidated", { method: request.method, urls: result.marked, throttled: result.throttled });
  return result;
}

/**
 * The field's URL (relative to the request's) when it names the same host (RFC 9111 §4.4: "MUST NOT
 * invalidate ... if the host component ... differs"), its host normalised; undefined otherwise.
 */
function sameHostUrl(value: string | null, base: URL): URL | undefined {
  if (!value) return undefined;
  let related: URL;
  try {
    related = new URL(value, base);
  } catch {
    return undefined; // an unparsable field invalidates nothing
  }
  if (related.protocol !== "http:" && related.protocol !== "https:") return undefined;
  related.hostname = normalizeHostname(related.hostname);
  return related.hostname === base.hostname && related.port === base.port ? related : undefined;
}

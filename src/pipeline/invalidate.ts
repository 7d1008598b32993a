// Stage: after a successful unsafe request (POST, PUT, DELETE, PATCH...), the stored responses for
// the target URI and for same-origin Location / Content-Location are invalidated (RFC 9111 §4.4).
// Runs in waitUntil; failures are logged. Only this visitor's key dimensions are known here, so a
// route keyed by cookies or headers invalidates this visitor's entry (purge covers the rest).
import { buildCacheKey } from "../cache/cache-key.ts";
import type { CompiledConfig, CompiledRoute } from "../config/validate-config.ts";
import { describeError, logEvent } from "../lib/log.ts";
import type { PipelineDeps, PipelineEnv } from "./types.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

export interface Invalidation {
  request: Request;
  response: Response;
  route: CompiledRoute;
  config: CompiledConfig;
  env: PipelineEnv;
  exec: ExecutionContext;
  deps: PipelineDeps;
}

export function invalidateAfterUnsafeRequest({ request, response, route, config, env, exec, deps }: Invalidation): void {
  if (SAFE_METHODS.has(request.method) || response.status < 200 || response.status >= 400) return;
  const target = new URL(request.url);
  const urls = [target];
  for (const name of ["location", "content-location"]) {
    const value = response.headers.get(name);
    if (!value) continue;
    try {
      const related = new URL(value, target);
      // Only the same origin: otherwise a response could invalidate someone else's pages.
      if (related.origin === target.origin) urls.push(related);
    } catch {
      // an unparsable Location invalidates nothing
    }
  }
  const store = deps.cacheState.openStore(env.OUTPOST_CACHE, config.cacheTiers);
  const country = route.cache.key.country && typeof request.cf?.country === "string" ? request.cf.country : undefined;
  const work = Promise.all(
    urls.map(async (url) => {
      const key = await buildCacheKey({ url, headers: request.headers, country, routeName: route.name, cacheVersion: config.cacheVersion, policy: route.cache });
      await store.delete(key);
    }),
  )
    .then(() => logEvent("info", "cache_invalidated", { route: route.name, urls: urls.map((url) => url.pathname + url.search) }))
    .catch((error: unknown) => logEvent("warn", "cache_invalidation_failed", { error: describeError(error) }));
  exec.waitUntil(work);
}

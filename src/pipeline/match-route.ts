// Stage: which configured route serves this URL? Routes are tried in the order they are declared;
// the first whose host and path patterns match wins. No match means no upstream: Outpost is never an
// open proxy, so the upstream host always comes from a route's pools, never from the request.
import type { CompiledConfig, CompiledRoute } from "../config/validate-config.ts";

export function matchRoute(config: CompiledConfig, url: URL): CompiledRoute | undefined {
  return config.routes.find((route) => route.matchers.some((matches) => matches(url)));
}

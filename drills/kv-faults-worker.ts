// The KV drill's worker: Outpost itself, with its OUTPOST_CACHE binding wrapped so that a share of
// KV calls fail. This wrapper is the drill's one deliberate fake: the local KV cannot produce
// outages or rate limits (TOOLCHAIN.md: write limits are not emulated), so the faults are injected
// in front of the real Miniflare KV. Calls that are not failed go to the real binding.
//
// DRILL_KV_FAULTS (JSON var): { "errorRate": 0.25, "rateLimitRate": 0.25 }. Each get, getWithMetadata,
// put, delete or list call independently fails with a KV-like error ("... failed: 500") with
// probability errorRate, or with a rate-limit error ("... failed: 429 Too Many Requests", what KV
// throws past one write per second per key) with probability rateLimitRate. Faults are rejected
// promises, as the real binding's are.
//
// GET /__drill/kv-faults answers the wrapper's own counters (calls and faults per method); it is
// handled here, before Outpost, and only exists in this drill worker.
import outpost from "../src/index.ts";
import type { OutpostEnv } from "../src/env.ts";
import { onePerEnv } from "../src/lib/per-env.ts";
// The production config binds the purge coordinator, so its class is exported from this entry too.
export { OriginShield, PoolHealth, PurgeCoordinator } from "../src/index.ts";

interface FaultPlan {
  errorRate: number;
  rateLimitRate: number;
}

interface DrillEnv extends OutpostEnv {
  DRILL_KV_FAULTS?: FaultPlan;
}

const WRAPPED_METHODS = ["get", "getWithMetadata", "put", "delete", "list"] as const;
type WrappedMethod = (typeof WRAPPED_METHODS)[number];

const calls: Record<string, number> = {};
const errors: Record<string, number> = {};
const rateLimited: Record<string, number> = {};

function wrapKv(kv: KVNamespace, plan: FaultPlan): KVNamespace {
  return new Proxy(kv, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (!WRAPPED_METHODS.includes(property as WrappedMethod)) return value.bind(target);
      const method = property as WrappedMethod;
      return (...args: unknown[]) => {
        calls[method] = (calls[method] ?? 0) + 1;
        const roll = Math.random();
        if (roll < plan.errorRate) {
          errors[method] = (errors[method] ?? 0) + 1;
          return Promise.reject(new Error(`KV ${method.toUpperCase()} failed: 500 Internal Server Error (injected by the drill)`));
        }
        if (roll < plan.errorRate + plan.rateLimitRate) {
          rateLimited[method] = (rateLimited[method] ?? 0) + 1;
          return Promise.reject(new Error(`KV ${method.toUpperCase()} failed: 429 Too Many Requests (injected by the drill)`));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const wrappedEnv = onePerEnv((env: DrillEnv): OutpostEnv => ({ ...env, OUTPOST_CACHE: wrapKv(env.OUTPOST_CACHE, env.DRILL_KV_FAULTS ?? { errorRate: 0, rateLimitRate: 0 }) }));

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__drill/kv-faults") {
      return Response.json({ calls, errors, rateLimited });
    }
    return outpost.fetch(request, wrappedEnv(env), ctx);
  },
  scheduled(controller, env, ctx) {
    return outpost.scheduled(controller, wrappedEnv(env), ctx);
  },
} satisfies ExportedHandler<DrillEnv>;

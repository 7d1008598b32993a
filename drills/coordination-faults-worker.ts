// The coordination drills' worker: Outpost itself, with its Durable Object bindings wrapped so that
// a drill can take an object down and bring it back. The wrappers are the drills' one deliberate
// fake: the local runtime cannot make a Durable Object unreachable or stall it on demand. While an
// object is "up", calls go to the real (SQLite-backed) object.
//   OUTPOST_PURGE_COORDINATOR (coordinator-down): while "down" every call on the stub rejects, as a
//     real stub's call does when the object is overloaded, reset or unreachable.
//   OUTPOST_SHIELD (shield-down): "down" makes stub.fetch reject the same way; "hang" makes it never
//     settle (an object stuck behind a slow origin, or a lost answer), so only the location's own
//     shield.timeout_ms ends the wait.
//
// POST /__drill/coordinator?down=1|0 and POST /__drill/shield?mode=up|down|hang switch; a GET on
// either answers its counters. Both are handled here, before Outpost, and only exist in this worker.
import outpost from "../src/index.ts";
import type { OutpostEnv } from "../src/env.ts";
import { onePerEnv } from "../src/lib/per-env.ts";

export { PurgeCoordinator } from "../src/coordination/purge-coordinator.ts";
// wrangler.toml's production environment binds PoolHealth and OriginShield too; `wrangler deploy` refuses an entry without them.
export { PoolHealth } from "../src/coordination/pool-health.ts";
export { OriginShield } from "../src/coordination/origin-shield.ts";

type ShieldMode = "up" | "down" | "hang";
const SHIELD_MODES: readonly ShieldMode[] = ["up", "down", "hang"];

const coordinator = { down: false, calls: 0, failed: 0 };
const shield = { mode: "up" as ShieldMode, calls: 0, rejected: 0, hung: 0 };

const UNREACHABLE = "Durable Object is unreachable (injected by the drill)";

/** A namespace whose stubs answer `intercept(stub, method)` for the methods it names, the real stub's otherwise. */
function wrapNamespace<N extends object>(namespace: N, intercept: (stub: Record<string, (...a: unknown[]) => unknown>, method: string) => ((...args: unknown[]) => unknown) | undefined): N {
  return new Proxy(namespace, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== "get" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      return (...getArgs: unknown[]) => {
        const stub = (value as (...a: unknown[]) => object).apply(target, getArgs);
        return new Proxy(stub, {
          get(stubTarget, method) {
            const call: unknown = Reflect.get(stubTarget, method);
            if (typeof call !== "function") return call;
            return intercept(stubTarget as Record<string, (...a: unknown[]) => unknown>, String(method)) ?? call;
          },
        });
      };
    },
  });
}

const wrapCoordinator = <N extends object>(namespace: N) =>
  wrapNamespace(namespace, (stub, method) => {
    if (!["record", "poll", "receipt"].includes(method)) return undefined;
    return (...args: unknown[]) => {
      coordinator.calls += 1;
      if (coordinator.down) {
        coordinator.failed += 1;
        return Promise.reject(new Error(UNREACHABLE));
      }
      // An RPC stub's methods are proxies: call them on the stub (".apply" would be an RPC call itself).
      return stub[method]!(...args);
    };
  });

const wrapShield = <N extends object>(namespace: N) =>
  wrapNamespace(namespace, (stub, method) => {
    if (method !== "fetch") return undefined;
    return (...args: unknown[]) => {
      shield.calls += 1;
      if (shield.mode === "down") {
        shield.rejected += 1;
        return Promise.reject(new Error(UNREACHABLE));
      }
      if (shield.mode === "hang") {
        shield.hung += 1;
        return new Promise<never>(() => {});
      }
      return stub.fetch!(...args);
    };
  });

const wrappedEnv = onePerEnv((env: OutpostEnv): OutpostEnv => {
  const wrapped = { ...env };
  if (env.OUTPOST_PURGE_COORDINATOR) wrapped.OUTPOST_PURGE_COORDINATOR = wrapCoordinator(env.OUTPOST_PURGE_COORDINATOR);
  if (env.OUTPOST_SHIELD) wrapped.OUTPOST_SHIELD = wrapShield(env.OUTPOST_SHIELD);
  return wrapped;
});

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__drill/coordinator") {
      if (request.method === "POST") coordinator.down = url.searchParams.get("down") === "1";
      return Response.json(coordinator);
    }
    if (url.pathname === "/__drill/shield") {
      const mode = url.searchParams.get("mode") as ShieldMode | null;
      if (request.method === "POST") {
        if (!mode || !SHIELD_MODES.includes(mode)) return Response.json({ error: `mode must be one of ${SHIELD_MODES.join(", ")}` }, { status: 400 });
        shield.mode = mode;
      }
      return Response.json(shield);
    }
    return outpost.fetch(request, wrappedEnv(env), ctx);
  },
  scheduled(controller, env, ctx) {
    return outpost.scheduled(controller, wrappedEnv(env), ctx);
  },
} satisfies ExportedHandler<OutpostEnv>;

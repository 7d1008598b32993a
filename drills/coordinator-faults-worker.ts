// The coordinator drill's worker: Outpost itself, with its OUTPOST_PURGE_COORDINATOR binding
// wrapped so that the drill can take the purge coordinator down and bring it back. The wrapper is
// the drill's one deliberate fake: the local runtime cannot make a Durable Object unreachable, so
// while "down" every call on the stub rejects, as a real stub's call does when the object is
// overloaded, reset or unreachable. While "up", calls go to the real (SQLite-backed) object.
//
// POST /__drill/coordinator?down=1|0 switches; GET /__drill/coordinator answers the counters. Both
// are handled here, before Outpost, and only exist in this drill worker.
import outpost from "../src/index.ts";
import type { OutpostEnv } from "../src/env.ts";

export { PurgeCoordinator } from "../src/coordination/purge-coordinator.ts";
// wrangler.toml's production environment binds PoolHealth too; `wrangler deploy` refuses an entry without it.
export { PoolHealth } from "../src/coordination/pool-health.ts";
export { OriginShield } from "../src/coordination/origin-shield.ts";

const state = { down: false, calls: 0, failed: 0 };

type Namespace = NonNullable<OutpostEnv["OUTPOST_PURGE_COORDINATOR"]>;

function wrapNamespace(namespace: Namespace): Namespace {
  return new Proxy(namespace, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== "get" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      return (id: DurableObjectId) => {
        const stub = target.get(id);
        return new Proxy(stub, {
          get(stubTarget, method) {
            const call: unknown = Reflect.get(stubTarget, method);
            if (typeof call !== "function" || !["record", "poll", "receipt"].includes(String(method))) return call;
            return (...args: unknown[]) => {
              state.calls += 1;
              if (state.down) {
                state.failed += 1;
                return Promise.reject(new Error("Durable Object is unreachable (injected by the drill)"));
              }
              // An RPC stub's methods are proxies: call them on the stub (".apply" would be an RPC call itself).
              return (stubTarget as unknown as Record<string, (...a: unknown[]) => unknown>)[String(method)]!(...args);
            };
          },
        });
      };
    },
  });
}

// One wrapped env per original env (load-config.ts memoises the parsed configuration per env object).
const wrappedEnvs = new WeakMap<object, OutpostEnv>();

function wrappedEnv(env: OutpostEnv): OutpostEnv {
  let wrapped = wrappedEnvs.get(env);
  if (!wrapped) {
    wrapped = env.OUTPOST_PURGE_COORDINATOR ? { ...env, OUTPOST_PURGE_COORDINATOR: wrapNamespace(env.OUTPOST_PURGE_COORDINATOR) } : env;
    wrappedEnvs.set(env, wrapped);
  }
  return wrapped;
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__drill/coordinator") {
      if (request.method === "POST") state.down = url.searchParams.get("down") === "1";
      return Response.json(state);
    }
    return outpost.fetch(request, wrappedEnv(env), ctx);
  },
  scheduled(controller, env, ctx) {
    return outpost.scheduled(controller, wrappedEnv(env), ctx);
  },
} satisfies ExportedHandler<OutpostEnv>;

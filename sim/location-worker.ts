// One simulated location: Outpost's production entry with its OUTPOST_CACHE binding replaced by a
// KV object that calls the simulator's shared KV shim (sim/kv-server.mjs) over loopback HTTP, so
// every location sees KV as production does (per-location read cache, propagation delay, write
// limits; docs/simulator.md). Everything else (Cache API, isolate memory, request.cf) is this
// location's own. Bundled like `wrangler deploy --env production` with this file as the entry.
//
// SIM_KV (JSON var): { "url": "http://127.0.0.1:<port>", "location": "FRA" }.
// SIM_COORDINATOR (JSON var, `--coordination` only): { "url": "http://127.0.0.1:<port>" }: Outpost's
// OUTPOST_PURGE_COORDINATOR becomes a transport shim (sim/coordinator-transport.ts) whose stubs send
// record / receipt / poll over loopback HTTP to the one coordinator every location shares
// (sim/coordinator-worker.ts). The shim is only the wire: the object behind it is the real
// PurgeCoordinator Durable Object with SQLite storage.
// SIM_SHIELD (JSON var, `--shield` only): { "url": "http://127.0.0.1:<port>" }: Outpost's OUTPOST_SHIELD
// becomes a transport shim (sim/shield-transport.ts) whose stubs send each shield request over loopback
// HTTP to the same coordinator worker, where the real OriginShield Durable Object answers it.
// SIM_POOL_HEALTH (JSON var, `--shared-health` only): { "url": "http://127.0.0.1:<port>" }: Outpost's
// OUTPOST_POOL_HEALTH becomes the same RPC transport shim with report / demotions, to the real
// PoolHealth Durable Object (SQLite storage) in the same coordinator worker.
import outpost from "../src/index.ts";
import type { OutpostEnv } from "../src/env.ts";
import { onePerEnv } from "../src/lib/per-env.ts";
import { remoteCoordinatorNamespace, remotePoolHealthNamespace } from "./coordinator-transport.ts";
import { remoteKv, type SimKvTarget } from "./remote-kv.ts";
import { remoteShieldNamespace } from "./shield-transport.ts";

// wrangler.toml's production environment binds the coordination classes, so `wrangler deploy` refuses
// an entry that does not export them. A location never runs them (no Durable Object binding here): every
// location shares the ones in sim/coordinator-worker.ts.
export { OriginShield, PoolHealth, PurgeCoordinator } from "../src/index.ts";

interface LocationEnv extends OutpostEnv {
  SIM_KV: SimKvTarget;
  SIM_COORDINATOR?: { url: string };
  SIM_SHIELD?: { url: string };
  SIM_POOL_HEALTH?: { url: string };
}

const wrappedEnv = onePerEnv((env: LocationEnv): OutpostEnv => {
  const replaced = {
    OUTPOST_CACHE: remoteKv(env.SIM_KV),
    ...(env.SIM_COORDINATOR && { OUTPOST_PURGE_COORDINATOR: remoteCoordinatorNamespace(env.SIM_COORDINATOR.url) }),
    ...(env.SIM_POOL_HEALTH && { OUTPOST_POOL_HEALTH: remotePoolHealthNamespace(env.SIM_POOL_HEALTH.url, env.SIM_KV.location) }),
    ...(env.SIM_SHIELD && { OUTPOST_SHIELD: remoteShieldNamespace({ url: env.SIM_SHIELD.url, location: env.SIM_KV.location }) }),
  };
  return { ...env, ...replaced } as OutpostEnv;
});

export default {
  fetch(request, env, ctx) {
    return outpost.fetch(request, wrappedEnv(env), ctx);
  },
  scheduled(controller, env, ctx) {
    return outpost.scheduled(controller, wrappedEnv(env), ctx);
  },
} satisfies ExportedHandler<LocationEnv>;

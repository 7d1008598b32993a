// The simulator's coordinator instance (`npm run sim -- --coordination` and/or `--shield`): one Miniflare
// instance every simulated location reaches over loopback HTTP, holding the Durable Objects that are
// shared across locations in production.
// - The real PurgeCoordinator (src/coordination/purge-coordinator.ts), SQLite-backed: POST /rpc forwards
//   { name, method, args } to its stub (sim/coordinator-transport.ts).
// - The real OriginShield (src/coordination/origin-shield.ts): /shield/<name> hands the location's
//   request to its stub and streams the answer back (sim/shield-transport.ts). The objects of each pool
//   run in a worker of their own (one isolate per pool, sim/coordinator-instance.mjs), started from
//   this same script: Outpost's shield objects share state per isolate (hot tier, fills in flight), and
//   production does not put every pool's shield in one isolate. The object's env is Outpost's (the same
//   OUTPOST config as the locations) with OUTPOST_CACHE replaced by the shared KV shim, as the location
//   "SHIELD" (sim/remote-kv.ts); it fetches the simulator's origins itself.
// - The real PoolHealth (src/coordination/pool-health.ts, `--shared-health`), SQLite-backed: POST
//   /rpc/pool-health forwards { name, method, args, location } to its stub (report / demotions, the
//   same transport as the coordinator's), counted per location.
// - GET /stats: the calls counted so far (coordinator calls, shield calls and pool health calls per location).
// - POST /faults { shield?: "none"|"error"|"throw"|"hang", coordinator?: boolean, seconds?: number }:
//   the simulator makes the shield (or the whole instance: purge coordinator and pool health calls
//   too) fail for a while; `{}` clears it.
import { OriginShield as ProductionOriginShield } from "../src/coordination/origin-shield.ts";
import type { OutpostEnv } from "../src/env.ts";
import { onePerEnv } from "../src/lib/per-env.ts";
import { answerCoordinatorCall, answerObjectCall, COORDINATOR_RPC_PATH, emptyCallCounts, emptyObjectCallCounts, POOL_HEALTH_METHODS, POOL_HEALTH_RPC_PATH } from "./coordinator-transport.ts";
import { remoteKv, type SimKvTarget } from "./remote-kv.ts";
import { activeFaults, answerShieldCall, emptyShieldCounts, noFaults, readFaults, type SimFaults } from "./shield-transport.ts";

export { PurgeCoordinator } from "../src/coordination/purge-coordinator.ts";
// `--shared-health` binds it (OUTPOST_POOL_HEALTH); wrangler.toml's production environment binds it too,
// and `wrangler deploy` refuses an entry without it.
export { PoolHealth } from "../src/coordination/pool-health.ts";

interface CoordinatorWorkerEnv {
  OUTPOST_PURGE_COORDINATOR: DurableObjectNamespace;
  /** `--shared-health`: the real PoolHealth objects (one per pool and cache_version, by name). */
  OUTPOST_POOL_HEALTH?: DurableObjectNamespace;
  /** `--shield`: the pools whose shield objects run in a worker (isolate) of their own, and their namespaces, in that order. */
  SIM_SHIELD_POOLS?: string[];
  [namespace: `SIM_SHIELD_${number}`]: DurableObjectNamespace | undefined;
  /** `--shield`: the shared KV shim, as the location "SHIELD" (the rest of Outpost's env is as at a location: OUTPOST, OUTPOST_ADMIN_TOKEN). */
  SIM_KV?: SimKvTarget;
}

const shieldEnv = onePerEnv((env: CoordinatorWorkerEnv): OutpostEnv => {
  if (!env.SIM_KV) throw new Error("the origin shield needs SIM_KV (the simulator's KV shim)");
  return { ...env, OUTPOST_CACHE: remoteKv(env.SIM_KV) } as unknown as OutpostEnv;
});

/** The production class, its OUTPOST_CACHE the shared KV shim: everything else is Outpost's own. */
export class OriginShield extends ProductionOriginShield {
  constructor(ctx: DurableObjectState, env: CoordinatorWorkerEnv) {
    super(ctx, shieldEnv(env));
  }
}

// One isolate serves the whole run (one Miniflare instance), so the counts and faults live in module scope.
const counts = emptyCallCounts();
const poolHealthCounts = emptyObjectCallCounts();
const shieldCounts = emptyShieldCounts();
let faults: SimFaults = noFaults();

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/shield/")) {
      // An object `<pool>/<shard>` lives in its pool's worker (sim/coordinator-instance.mjs).
      const namespaceOf = (name: string) => {
        const index = env.SIM_SHIELD_POOLS?.indexOf(name.split("/")[0] ?? "") ?? -1;
        return index < 0 ? undefined : env[`SIM_SHIELD_${index}`];
      };
      return answerShieldCall(request, namespaceOf, shieldCounts, () => faults);
    }
    if (request.method === "POST" && pathname === COORDINATOR_RPC_PATH) {
      if (activeFaults(faults, Date.now()).coordinator) {
        counts.failed += 1;
        return Response.json({ error: "the coordinator is down (simulated fault)" }, { status: 503 });
      }
      return answerCoordinatorCall(request, env.OUTPOST_PURGE_COORDINATOR, counts);
    }
    if (request.method === "POST" && pathname === POOL_HEALTH_RPC_PATH) {
      if (!env.OUTPOST_POOL_HEALTH) return Response.json({ error: "no OUTPOST_POOL_HEALTH here (the simulator runs without --shared-health)" }, { status: 404 });
      if (activeFaults(faults, Date.now()).coordinator) {
        poolHealthCounts.failed += 1;
        return Response.json({ error: "the coordinator instance is down (simulated fault)" }, { status: 503 });
      }
      return answerObjectCall(request, env.OUTPOST_POOL_HEALTH, POOL_HEALTH_METHODS, poolHealthCounts);
    }
    if (request.method === "POST" && pathname === "/faults") {
      const next = readFaults(await request.json().catch(() => null), Date.now());
      if (!next) return Response.json({ error: 'expected { "shield"?: "none"|"error"|"throw"|"hang", "coordinator"?: boolean, "seconds"?: number }' }, { status: 400 });
      faults = next;
      return Response.json(faults);
    }
    if (request.method === "GET" && pathname === "/stats") return Response.json({ ...counts, shield: shieldCounts, poolHealth: poolHealthCounts });
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<CoordinatorWorkerEnv>;

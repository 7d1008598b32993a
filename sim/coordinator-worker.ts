// The simulator's one purge coordinator (`npm run sim -- --coordination`): the real PurgeCoordinator
// class (src/coordination/purge-coordinator.ts) as a SQLite-backed Durable Object in its own Miniflare
// instance, and an HTTP entry through which every simulated location calls it
// (sim/coordinator-transport.ts: POST /rpc forwards { name, method, args } to the object's stub;
// GET /stats answers the calls counted so far, for the report's calls per location per second).
import { answerCoordinatorCall, emptyCallCounts } from "./coordinator-transport.ts";

export { PurgeCoordinator } from "../src/coordination/purge-coordinator.ts";
// wrangler.toml's production environment binds PoolHealth too; `wrangler deploy` refuses an entry without it.
export { PoolHealth } from "../src/coordination/pool-health.ts";
export { OriginShield } from "../src/coordination/origin-shield.ts";

interface CoordinatorWorkerEnv {
  OUTPOST_PURGE_COORDINATOR: DurableObjectNamespace;
}

// One isolate serves the whole run (one Miniflare instance), so the counts live in module scope.
const counts = emptyCallCounts();

export default {
  fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname === "/rpc") return answerCoordinatorCall(request, env.OUTPOST_PURGE_COORDINATOR, counts);
    if (request.method === "GET" && pathname === "/stats") return Response.json(counts);
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<CoordinatorWorkerEnv>;

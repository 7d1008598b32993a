// The simulator's coordinator instance (`--coordination`, `--shield` and/or `--shared-health`): one
// Miniflare instance, one workerd process, running sim/coordinator-worker.ts as its entry (the
// PurgeCoordinator object, with `--shared-health` the PoolHealth objects,
// the shield transport's entry, faults, stats) and, with the shield, one more worker per shielded
// pool from the same script hosting that pool's OriginShield objects. Each worker is an isolate of its
// own: Outpost's shield objects share their cache state and fills in flight per isolate, and in
// production the shields of different pools do not run in one isolate (one isolate for all of them
// would collapse a fill of one pool into another's and overstate what the shield saves).
import { startWorkers, workerDefinition } from "../scripts/worker-bundle.mjs";

const ENTRY = "sim-coordinator";
const shieldWorker = (pool) => `sim-shield-${pool}`;

/**
 * Starts the instance: `shieldPools` (empty without `--shield`) get a worker each, with `shieldEnv`
 * (Outpost's env for the shield: OUTPOST, OUTPOST_ADMIN_TOKEN, SIM_KV); `sharedHealth` binds the
 * PoolHealth objects in the entry worker. Returns { mf, url }.
 */
export async function startCoordinatorInstance({ script, shieldPools = [], shieldEnv = {}, sharedHealth = false, handleStructuredLogs }) {
  const sqlite = { type: "durable-object", storage: "sqlite" };
  const purgeCoordinator = { type: "durable-object", worker: ENTRY, exportName: "PurgeCoordinator" };
  const entryEnv = {
    OUTPOST_PURGE_COORDINATOR: purgeCoordinator,
    // `--shared-health`: the real PoolHealth objects every location reports to and polls.
    ...(sharedHealth && { OUTPOST_POOL_HEALTH: { type: "durable-object", worker: ENTRY, exportName: "PoolHealth" } }),
    ...(shieldPools.length > 0 && { SIM_SHIELD_POOLS: { type: "json", value: shieldPools } }),
    ...Object.fromEntries(shieldPools.map((pool, index) => [`SIM_SHIELD_${index}`, { type: "durable-object", worker: shieldWorker(pool), exportName: "OriginShield" }])),
  };
  return startWorkers(
    [
      workerDefinition(ENTRY, script, entryEnv, { exports: { PurgeCoordinator: sqlite, ...(sharedHealth && { PoolHealth: sqlite }) } }),
      // A shield's purge client reaches the same PurgeCoordinator as the locations (when the config turns it on).
      ...shieldPools.map((pool) => workerDefinition(shieldWorker(pool), script, { ...shieldEnv, OUTPOST_PURGE_COORDINATOR: purgeCoordinator }, { exports: { OriginShield: sqlite } })),
    ],
    handleStructuredLogs ? { handleStructuredLogs } : {},
  );
}

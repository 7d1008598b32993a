import { createApp, createDeps } from "./app.ts";
import type { OutpostEnv } from "./env.ts";
import { runScheduled } from "./scheduled/run-scheduled.ts";

// Durable Object classes are exported by the entry module (wrangler.toml's [[durable_objects.bindings]]).
export { PurgeCoordinator } from "./coordination/purge-coordinator.ts";
export { PoolHealth } from "./coordination/pool-health.ts";
export { OriginShield } from "./coordination/origin-shield.ts";

// One set of dependencies per isolate: circuit breakers and the health snapshot live here.
const deps = createDeps();
const app = createApp(deps);

export default {
  fetch: app.fetch, // an arrow function: no `this` to bind
  scheduled: (controller, env, ctx) => runScheduled(controller, env, ctx, deps),
} satisfies ExportedHandler<OutpostEnv>;

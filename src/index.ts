import { createApp, createDeps } from "./app.ts";
import type { OutpostEnv } from "./env.ts";
import { runScheduled } from "./scheduled/run-scheduled.ts";

// One set of dependencies per isolate: circuit breakers and the health snapshot live here.
const deps = createDeps();
const app = createApp(deps);

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  scheduled: (controller, env, ctx) => runScheduled(controller, env, ctx, deps),
} satisfies ExportedHandler<OutpostEnv>;

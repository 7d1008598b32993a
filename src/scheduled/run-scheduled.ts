// The cron trigger's handler: the active health checks, then folding the purge log into the ledger.
import { loadConfig } from "../config/load-config.ts";
import { runHealthChecks } from "../health/run-health-checks.ts";
import { describeError, logEvent } from "../lib/log.ts";
import { reconcilePurgeLedger } from "../purge/reconcile-ledger.ts";
import type { PipelineDeps, PipelineEnv } from "../pipeline/types.ts";

export async function runScheduled(
  _controller: ScheduledController,
  env: PipelineEnv,
  _ctx: ExecutionContext,
  deps: PipelineDeps,
): Promise<void> {
  const loaded = loadConfig(env);
  if (!loaded.ok) return; // loadConfig has logged the problems
  if (!env.OUTPOST_CACHE) {
    logEvent("error", "health_check_skipped", { reason: "no OUTPOST_CACHE KV binding" });
    return;
  }
  try {
    const snapshot = await runHealthChecks(loaded.config, env.OUTPOST_CACHE, deps.clock);
    deps.health.adoptSnapshot(snapshot);
  } catch (error) {
    // A failed KV write must not fail the cron invocation noisily; the next run tries again.
    logEvent("error", "health_check_failed", { error: describeError(error) });
  }
  try {
    await reconcilePurgeLedger(env.OUTPOST_CACHE, loaded.config.cacheVersion, deps.clock.now());
  } catch (error) {
    logEvent("error", "purge_ledger_reconcile_failed", { error: describeError(error) });
  }
}

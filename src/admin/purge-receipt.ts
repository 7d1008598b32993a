// GET <admin>/purge/<id>: a purge's receipt, in Cloudflare's API envelope like the purge itself.
// Which locations active within coordination.receipt_window_minutes have applied the purge and when
// (each location reports the epoch it has applied on its next poll, so a location shows up here
// about one poll interval after it applied the purge), and which have not yet. Needs the purge
// coordinator: the KV ledger knows nothing about locations.
//   {"success":true,"errors":[],"messages":[],"result":{"id","epoch","at","complete",
//    "observed":[{"colo","observed_at","after_ms"}],"pending":[{"colo","epoch","last_poll_at"}], ...}}
import { loadConfig } from "../config/load-config.ts";
import { purgeCoordinatorFor, receiptFromCoordinator } from "../coordination/purge-client.ts";
import type { OutpostEnv } from "../env.ts";
import { OutpostError } from "../lib/errors.ts";
import { configOrThrow } from "../pipeline/handle-request.ts";
import type { PipelineDeps } from "../pipeline/types.ts";
import { iso } from "./status.ts";

/** Purge ids are 32 hex digits (purge-endpoint.ts). */
const PURGE_ID = /^[0-9a-f]{32}$/;

export async function purgeReceipt(env: OutpostEnv, deps: PipelineDeps, id: string) {
  const config = configOrThrow(loadConfig(env));
  if (!PURGE_ID.test(id)) throw new OutpostError(400, "invalid_request", "A purge id is the 32 hex digits of result.id in the purge's answer");
  const stub = purgeCoordinatorFor(env, config.coordination, config.cacheVersion);
  if (!stub) {
    throw new OutpostError(409, "coordinator_off", "Receipts need the purge coordinator: set coordination = { purge_coordinator = true } and bind OUTPOST_PURGE_COORDINATOR (docs/coordination.md)");
  }
  const windowMs = config.coordination.receipt_window_minutes * 60_000;
  const answer = await receiptFromCoordinator(stub, deps.clock, id, windowMs);
  if (!answer.ok) throw new OutpostError(503, "coordinator_unavailable", "The purge coordinator did not answer; purges still reach every location through the KV ledger", { cause: answer.error });
  const receipt = answer.value;
  if (!receipt) throw new OutpostError(404, "not_found", `No purge ${id} in the coordinator of cache_version "${config.cacheVersion}"`);
  const observed = receipt.locations.filter((location) => location.observed_at !== undefined);
  const pending = receipt.locations.filter((location) => location.observed_at === undefined);
  return {
    success: true,
    errors: [],
    messages: [],
    result: {
      id: receipt.id,
      epoch: receipt.epoch,
      current_epoch: receipt.current_epoch,
      kind: receipt.kind,
      count: receipt.count,
      soft: receipt.soft,
      at: iso(receipt.at),
      window_minutes: config.coordination.receipt_window_minutes,
      /** Every location active within the window has applied it (false while none is active). */
      complete: observed.length > 0 && pending.length === 0,
      observed: observed.map((location) => ({ colo: location.colo, observed_at: iso(location.observed_at!), after_ms: Math.max(0, location.observed_at! - receipt.at) })),
      pending: pending.map((location) => ({ colo: location.colo, epoch: location.epoch, last_poll_at: iso(location.last_poll_at) })),
    },
  };
}

// POST /__outpost/purge answers in Cloudflare's API envelope, so scripts written for
// `POST /zones/:zone/purge_cache` read Outpost's answer the same way (`success`, `errors`, `result.id`):
//   {"success":true,"errors":[],"messages":[],"result":{"id":"…", "kind", "count", "soft", "at", "effective"}}
//   {"success":false,"errors":[{"code":"invalid_request","message":"…","problems":[…]}],"messages":[],"result":null}
// Cloudflare's error codes are numbers; Outpost's are its stable string codes (lib/errors.ts).
// With the purge coordinator, the answer comes once the coordinator has recorded the purge, with its
// `epoch` and `receipt` (GET <admin>/purge/<id>); the KV ledger is written as well, underneath.
import { loadConfig } from "../config/load-config.ts";
import { purgeCoordinatorFor, recordWithCoordinator } from "../coordination/purge-client.ts";
import type { OutpostEnv } from "../env.ts";
import { OutpostError } from "../lib/errors.ts";
import { logEvent } from "../lib/log.ts";
import { configOrThrow } from "../pipeline/handle-request.ts";
import type { PipelineDeps } from "../pipeline/types.ts";
import { parsePurgeRequest } from "../purge/purge-request.ts";
import { GLOBAL_REREAD_MS, LOCATION_REREAD_MS, ledgerStores } from "../purge/purge-state.ts";
import { iso } from "./status.ts";

export async function readJsonBody(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new OutpostError(400, "invalid_request", 'The body must be JSON, for example {"tags": ["product-42"]}');
  }
}

/** Records the purge and describes it as the `result` of the envelope. Throws OutpostError on bad input. */
export async function purge(env: OutpostEnv, deps: PipelineDeps, body: unknown) {
  const config = configOrThrow(loadConfig(env));
  const parsed = parsePurgeRequest(body, config);
  if (!parsed.ok) throw new OutpostError(400, "invalid_request", "The purge request is invalid", { problems: parsed.problems });
  const kind = Object.keys(parsed.items)[0]!;
  // Cloudflare's ids are 32 hex digits; this one names the purge in the log line, the answer and its receipt.
  const id = crypto.randomUUID().replaceAll("-", "");
  const at = deps.clock.now();
  const stub = purgeCoordinatorFor(env, config.coordination, config.cacheVersion);
  const [recorded, coordinated] = await Promise.all([
    deps.purges.record(ledgerStores(env), config.cacheVersion, parsed.items, parsed.soft, at),
    stub ? recordWithCoordinator(stub, deps.clock, { id, at, soft: parsed.soft, items: parsed.items, kind, count: parsed.count }) : undefined,
  ]);
  if (coordinated && !coordinated.ok) deps.purges.noteCoordinatorFailure("purge", coordinated.error);
  const epoch = coordinated?.ok ? coordinated.value.epoch : undefined;
  logEvent("info", "purge", { id, kind, count: parsed.count, soft: parsed.soft, items: parsed.items, epoch, shared_globally: recorded.sharedGlobally, shared_in_location: recorded.sharedInLocation });
  const intervalSeconds = config.coordination.purge_poll_interval_ms / 1000;
  return {
    success: true,
    errors: [],
    messages: [],
    result: {
      id,
      kind,
      count: parsed.count,
      soft: parsed.soft,
      at: iso(recorded.at),
      // Only when the coordinator recorded the purge: its place in the ledger's order, and where to follow it.
      ...(epoch !== undefined ? { epoch, receipt: `${config.adminPrefix}/purge/${id}` } : {}),
      coordinator: !stub ? "off" : epoch !== undefined ? "recorded" : "unavailable: recorded in the KV ledger only",
      effective: {
        this_isolate: "now",
        this_location: recorded.sharedInLocation
          ? `within ${LOCATION_REREAD_MS / 1000} s (other isolates here re-read the location's copy of the ledger)`
          : "this isolate only: the Cache API is not available here",
        other_locations: epoch !== undefined
          ? `within about ${1.5 * intervalSeconds} s (each location asks the purge coordinator every ${intervalSeconds} s and shares the answer with its isolates for as long)`
          : recorded.sharedGlobally
          ? `within about ${60 + GLOBAL_REREAD_MS / 1000} s (Workers KV propagation, ~60 s, then each isolate's re-read)`
          : recorded.logged
            ? "within about 2 min: the ledger write failed, the purge log it is in is folded into the ledger by the next cron run"
            : "not shared: KV could not be written (see the log); purge again",
      },
    },
  };
}

export function purgeErrorResponse(error: OutpostError): Response {
  const body = { success: false, errors: [{ code: error.code, message: error.message, ...error.details }], messages: [], result: null };
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

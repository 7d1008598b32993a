// A location's side of the origin shield (origin-shield.ts). A cache fill (miss, revalidation,
// background refresh) for a pool with `shield` goes to the pool's shield object for the key's shard
// instead of the origin; the shield collapses it with every other location's, so an object is
// fetched from the origin once. The shield never makes things worse: when it fails (its call throws,
// it answers no headers within the pool's shield.timeout_ms, it is over its in-flight cap or fails
// itself), this location fetches the origin as it would without a shield, counts it, and says so
// (Cache-Status detail=shield-bypass, Server-Timing `shield;desc="bypass:<reason>"`). After such a
// failure the shard is skipped for SHIELD_RETRY_MS in this isolate, so an unreachable shield costs
// one timeout per shard and isolate, not one per request.
import type { PoolConfig, ShieldConfig } from "../config/schema.ts";
import type { Clock } from "../lib/clock.ts";
import { logEvent } from "../lib/log.ts";
import type { AttemptRecord } from "../origin/fetch-with-failover.ts";
import { hashString } from "../steering/weighted.ts";
import { callCoordinator } from "./object-call.ts";
import type { OriginShield } from "./origin-shield.ts";
import { SHIELD_COUNTRY_HEADER, SHIELD_OUTCOME_HEADER, SHIELD_POOLS_HEADER, SHIELD_PURGES_HEADER, SHIELD_TAGS_HEADER, type ShieldOutcome } from "./shield-protocol.ts";

/** How long a shard that failed is skipped by this isolate's fills. */
export const SHIELD_RETRY_MS = 2_000;
/** A bypass is logged at most this often per isolate; every one is counted. */
const BYPASS_LOG_EVERY_MS = 60_000;

export type ShieldBypassReason = "timeout" | "unreachable" | "overloaded" | "error" | "recent-failure";

/** What a fill's origin shield did: answered (with the answer's purge tags), or why this location fetched the origin itself. */
export type ShieldUse = { answered: true; outcome: ShieldOutcome; tags?: string[] } | { answered: false; reason: ShieldBypassReason };

export type ShieldAnswer =
  /** `tags`: the answer's purge tags (the shield keeps them out of the fields, as every delivery does). */
  | { kind: "answered"; outcome: ShieldOutcome; response: Response; tags: string[] | undefined }
  /** Every origin failed at the shield: the fill fails here too (asking the failing origins again from every location is what a shield prevents). */
  | { kind: "origin-failed"; attempts: AttemptRecord[] }
  | { kind: "bypass"; reason: ShieldBypassReason };

export interface ShieldEnv {
  OUTPOST_SHIELD?: DurableObjectNamespace<OriginShield>;
}

/** This isolate's shards that failed lately, and its counts (admin status). */
export class ShieldCircuits {
  private readonly failedAt = new Map<string, number>();
  private loggedAt = Number.NEGATIVE_INFINITY;
  answered = 0;
  bypassed = 0;

  isResting(shard: string, now: number): boolean {
    const at = this.failedAt.get(shard);
    if (at === undefined) return false;
    if (now - at < SHIELD_RETRY_MS) return true;
    this.failedAt.delete(shard);
    return false;
  }

  noteFailure(shard: string, reason: ShieldBypassReason, now: number, error?: string): void {
    this.failedAt.set(shard, now);
    if (now - this.loggedAt < BYPASS_LOG_EVERY_MS) return;
    this.loggedAt = now;
    logEvent("warn", "origin_shield_bypassed", { shard, reason, error, bypassed: this.bypassed });
  }

  get usage(): { answered: number; bypassed: number } {
    return { answered: this.answered, bypassed: this.bypassed };
  }
}

/** The pool's shield settings when it has one and this worker can reach it (the binding); else undefined. */
export function shieldOf(pool: PoolConfig | undefined, env: ShieldEnv): ShieldConfig | undefined {
  return pool?.shield && env.OUTPOST_SHIELD ? pool.shield : undefined;
}

/** The object a fill of `url` goes to: one of the pool's shards, by the URL's hash (its variants share it). */
export function shardName(poolName: string, shield: ShieldConfig, url: string): string {
  return `${poolName}/${hashString(url) % shield.shards}`;
}

export interface ShieldCall {
  request: Request;
  pool: PoolConfig;
  shield: ShieldConfig;
  /** The pools this location steered to, in failover order. */
  poolOrder: string[];
  /** The newest purge this location knows of. */
  purgesAt: number;
  /** The visitor's country, when the route's key includes it. */
  country: string | undefined;
  namespace: DurableObjectNamespace<OriginShield>;
  clock: Clock;
  circuits: ShieldCircuits;
}

/** Sends one fill to its shield. Never throws: a failure is a bypass. */
export async function askShield(call: ShieldCall): Promise<ShieldAnswer> {
  const { request, pool, shield, clock, circuits } = call;
  const shard = shardName(pool.name, shield, request.url);
  const bypass = (reason: ShieldBypassReason, error?: string): ShieldAnswer => {
    circuits.bypassed += 1;
    if (reason !== "recent-failure") circuits.noteFailure(shard, reason, clock.now(), error);
    return { kind: "bypass", reason };
  };
  if (circuits.isResting(shard, clock.now())) return bypass("recent-failure");

  const headers = new Headers(request.headers);
  headers.set(SHIELD_POOLS_HEADER, call.poolOrder.join(","));
  headers.set(SHIELD_PURGES_HEADER, String(call.purgesAt));
  if (call.country) headers.set(SHIELD_COUNTRY_HEADER, call.country);
  else headers.delete(SHIELD_COUNTRY_HEADER);
  const toShield = new Request(request.url, { method: request.method, headers });
  const stub = call.namespace.get(call.namespace.idFromName(shard), shield.location_hint ? { locationHint: shield.location_hint } : undefined);

  // A Durable Object call cannot be cancelled: past the timeout its answer is let go when it comes.
  const called = await callCoordinator(clock, shield.timeout_ms, () => stub.fetch(toShield), `the origin shield "${shard}"`, (late) => void late.body?.cancel());
  if (!called.ok) return called.timedOut ? bypass("timeout") : bypass("unreachable", called.error);
  const response = called.value;
  const outcome = response.headers.get(SHIELD_OUTCOME_HEADER) as ShieldOutcome | null;
  if (outcome === "origin-failed") {
    circuits.answered += 1;
    return { kind: "origin-failed", attempts: await attemptsOf(response) };
  }
  if (outcome === null || outcome === "overloaded" || outcome === "error") {
    await response.body?.cancel();
    return bypass(outcome === "overloaded" ? "overloaded" : "error", outcome === null ? `status ${response.status} without ${SHIELD_OUTCOME_HEADER}` : undefined);
  }
  circuits.answered += 1;
  // The shield's own field is for this hop only: not stored, not passed on.
  const passed = new Headers(response.headers);
  passed.delete(SHIELD_OUTCOME_HEADER);
  passed.delete(SHIELD_TAGS_HEADER);
  const relayed = new Response(withDeclaredLength(response), { status: response.status, statusText: response.statusText, headers: passed });
  return { kind: "answered", outcome, response: relayed, tags: tagsOf(response.headers.get(SHIELD_TAGS_HEADER)) };
}

/**
 * The shield's body, failing (instead of ending) when it is shorter or longer than its declared
 * Content-Length: an origin body that broke off at the shield reaches the location as a clean end of
 * stream, and a short body must never be stored or passed on as whole. Decoded (content-coded)
 * bodies have no length to check.
 */
function withDeclaredLength(response: Response): ReadableStream<Uint8Array> | null {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  const coding = response.headers.get("content-encoding");
  if (!response.body || !Number.isSafeInteger(declared) || (coding !== null && coding !== "identity")) return response.body;
  let seen = 0;
  const broken = () => new Error(`the origin shield's answer ended after ${seen} of its ${declared} bytes`);
  return response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > declared) controller.error(broken());
        else controller.enqueue(chunk);
      },
      flush(controller) {
        if (seen !== declared) controller.error(broken());
      },
    }),
  );
}

function tagsOf(field: string | null): string[] | undefined {
  if (field === null) return undefined;
  try {
    const tags: unknown = JSON.parse(field);
    return Array.isArray(tags) && tags.length > 0 && tags.every((tag) => typeof tag === "string") ? (tags as string[]) : undefined;
  } catch {
    return undefined;
  }
}

async function attemptsOf(response: Response): Promise<AttemptRecord[]> {
  try {
    const body = (await response.json()) as { attempts?: unknown };
    return Array.isArray(body.attempts) ? (body.attempts as AttemptRecord[]) : [];
  } catch {
    return [];
  }
}

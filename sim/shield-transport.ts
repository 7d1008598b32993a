// The simulator's transport for the origin shield (`npm run sim -- --shield`). Each simulated location
// is its own workerd process and a Durable Object binding cannot cross processes, so every location's
// OUTPOST_SHIELD is a stand-in namespace whose stubs send the request (method, headers, streaming
// body; the original URL in a header) over loopback HTTP to the coordinator worker
// (sim/coordinator-worker.ts), which hands it to the real OriginShield Durable Object on a real stub
// and streams its response back. Only the wire is simulated: the object, its KV and its origin
// fetches are production's. What differs: a failed or unreachable object reaches the location as a
// rejected fetch (as with a real stub) carried in a 502 with X-Sim-Shield-Error, and the hop adds
// about a millisecond of loopback.
//
// The coordinator worker also takes faults (POST /faults), so a run can make the shield fail for a
// while: every shield call answers 500 ("error"), rejects ("throw") or hangs until the fault ends
// ("hang"), and with `coordinator: true` purge-coordinator calls fail too (the instance is down).

import type { FetchLike, NamedId } from "./coordinator-transport.ts";

/** Where the original request's URL, the calling location and the location hint travel. */
export const SHIELD_URL_HEADER = "x-sim-shield-url";
export const SHIELD_LOCATION_HEADER = "x-sim-shield-location";
export const SHIELD_HINT_HEADER = "x-sim-shield-hint";
/** Set on the coordinator's answer when the object could not be reached or threw: the stub rejects. */
export const SHIELD_ERROR_HEADER = "x-sim-shield-error";
const TRANSPORT_HEADERS = [SHIELD_URL_HEADER, SHIELD_LOCATION_HEADER, SHIELD_HINT_HEADER];

/** SIM_SHIELD (JSON var) at a location: the coordinator worker's address, and this location's code. */
export interface ShieldTransportTarget {
  url: string;
  location: string;
}


/** The request's body as a stream, for a method that has one (`duplex: "half"`: the Fetch standard's term for a streamed request body). */
function streamedBody(request: Request): RequestInit {
  if (request.method === "GET" || request.method === "HEAD" || request.body === null) return {};
  return { body: request.body, duplex: "half" } as RequestInit;
}

/**
 * A DurableObjectNamespace stand-in: `get(idFromName(name), { locationHint })` returns a stub whose
 * `fetch(request)` goes to `<url>/shield/<name>` with the same method, headers and body and resolves
 * to the object's response (redirects are not followed: a stub hands back what the object answered).
 */
export function remoteShieldNamespace(target: ShieldTransportTarget, fetchImpl: FetchLike = (url, init) => fetch(url, init)): DurableObjectNamespace {
  const forward = async (name: string, hint: string | undefined, request: Request): Promise<Response> => {
    const headers = new Headers(request.headers);
    headers.set(SHIELD_URL_HEADER, request.url);
    headers.set(SHIELD_LOCATION_HEADER, target.location);
    if (hint) headers.set(SHIELD_HINT_HEADER, hint);
    const response = await fetchImpl(`${target.url}/shield/${encodeURIComponent(name)}`, {
      method: request.method,
      headers,
      redirect: "manual",
      signal: request.signal,
      ...streamedBody(request),
    });
    const failure = response.headers.get(SHIELD_ERROR_HEADER);
    if (failure !== null) {
      await response.body?.cancel();
      throw new Error(failure);
    }
    return response;
  };
  const namespace = {
    idFromName: (name: string): NamedId => ({ name, toString: () => name }),
    get(id: NamedId, options?: { locationHint?: string }) {
      return { fetch: (input: RequestInfo | URL, init?: RequestInit) => forward(id.name, options?.locationHint, new Request(input, init)) };
    },
  };
  return namespace as unknown as DurableObjectNamespace;
}

// ---- the coordinator worker's side ----------------------------------------------------------------

export type ShieldFaultMode = "none" | "error" | "throw" | "hang";

/** The faults in force: what shield calls do, whether coordinator calls fail, until when (ms; 0: until cleared). */
export interface SimFaults {
  shield: ShieldFaultMode;
  coordinator: boolean;
  until: number;
}

export function noFaults(): SimFaults {
  return { shield: "none", coordinator: false, until: 0 };
}

/** POST /faults body: `{ shield?: mode, coordinator?: boolean, seconds?: number }`; `{}` clears them. */
export function readFaults(body: unknown, now: number): SimFaults | undefined {
  const value = body as { shield?: unknown; coordinator?: unknown; seconds?: unknown } | null;
  if (typeof value !== "object" || value === null) return undefined;
  const shield = value.shield ?? "none";
  if (!["none", "error", "throw", "hang"].includes(shield as string)) return undefined;
  if (value.seconds !== undefined && !(typeof value.seconds === "number" && value.seconds > 0)) return undefined;
  return { shield: shield as ShieldFaultMode, coordinator: value.coordinator === true, until: typeof value.seconds === "number" ? now + value.seconds * 1000 : 0 };
}

/** The faults in force at `now` (an expired window is none). */
export function activeFaults(faults: SimFaults, now: number): SimFaults {
  return faults.until !== 0 && now >= faults.until ? noFaults() : faults;
}

export interface ShieldCallCounts {
  calls: number;
  byColo: Record<string, number>;
  /** Calls per object name (`<pool>/<shard>`). */
  byObject: Record<string, number>;
  /** The object threw or could not be reached. */
  failed: number;
  /** Calls a fault answered instead of the object, per mode. */
  injected: { error: number; throw: number; hang: number };
}

export function emptyShieldCounts(): ShieldCallCounts {
  return { calls: 0, byColo: {}, byObject: {}, failed: 0, injected: { error: 0, throw: 0, hang: 0 } };
}

/** How often a hung call checks whether its fault is over, and the longest it hangs. */
const HANG_POLL_MS = 50;
const HANG_MAX_MS = 60_000;

/**
 * Answers one `/shield/<name>` call: the original request (URL from X-Sim-Shield-URL, the transport's
 * headers removed) on the named object's stub, with the location hint; or what the fault in force
 * says. `faults()` is read on every check, so a hung call ends when the simulator clears the fault.
 * `namespaces` is one namespace, or the namespace for an object's name (one isolate per pool).
 */
export async function answerShieldCall(request: Request, namespaces: DurableObjectNamespace | ((name: string) => DurableObjectNamespace | undefined), counts: ShieldCallCounts, faults: () => SimFaults): Promise<Response> {
  const name = decodeURIComponent(new URL(request.url).pathname.slice("/shield/".length));
  const url = request.headers.get(SHIELD_URL_HEADER);
  if (!name || !url) return new Response(`expected /shield/<name> with ${SHIELD_URL_HEADER}`, { status: 400 });
  const colo = request.headers.get(SHIELD_LOCATION_HEADER) ?? "unknown";
  counts.calls += 1;
  counts.byColo[colo] = (counts.byColo[colo] ?? 0) + 1;
  counts.byObject[name] = (counts.byObject[name] ?? 0) + 1;

  const fault = activeFaults(faults(), Date.now()).shield;
  if (fault === "hang") {
    counts.injected.hang += 1;
    const startedAt = Date.now();
    while (activeFaults(faults(), Date.now()).shield === "hang" && Date.now() - startedAt < HANG_MAX_MS) await new Promise((resolve) => setTimeout(resolve, HANG_POLL_MS));
    return new Response("the shield hung (simulated fault)", { status: 504 });
  }
  if (fault === "error") {
    counts.injected.error += 1;
    return new Response("the shield failed (simulated fault)", { status: 500 });
  }
  if (fault === "throw") {
    counts.injected.throw += 1;
    return unreachable("the shield is unreachable (simulated fault)");
  }

  const headers = new Headers(request.headers);
  for (const header of TRANSPORT_HEADERS) headers.delete(header);
  const hint = request.headers.get(SHIELD_HINT_HEADER);
  const forwarded = new Request(url, { method: request.method, headers, redirect: "manual", ...streamedBody(request) });
  const namespace = typeof namespaces === "function" ? namespaces(name) : namespaces;
  if (!namespace) return new Response(`no shield namespace for ${name}`, { status: 404 });
  try {
    const stub = namespace.get(namespace.idFromName(name), hint ? { locationHint: hint as DurableObjectLocationHint } : undefined);
    return await stub.fetch(forwarded);
  } catch (error) {
    counts.failed += 1;
    return unreachable(error instanceof Error ? error.message : String(error));
  }
}

function unreachable(message: string): Response {
  return new Response(message, { status: 502, headers: { [SHIELD_ERROR_HEADER]: message.replace(/[\r\n]+/g, " ").slice(0, 500) } });
}

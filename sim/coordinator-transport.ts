// The simulator's transport for the purge coordinator (`npm run sim -- --coordination`). Each
// simulated location is its own workerd process, and a Durable Object binding cannot cross
// processes, so every location gets a stand-in OUTPOST_PURGE_COORDINATOR namespace whose stubs send
// record / receipt / poll as JSON over loopback HTTP to one coordinator worker (sim/coordinator-worker.ts),
// which calls the real PurgeCoordinator Durable Object (SQLite storage) on a real stub. This is a
// transport shim only: the object, its storage and every answer are the production class's; what
// differs from production is the wire (JSON over HTTP instead of RPC's structured clone), so a
// property whose value is `undefined` is dropped on the way (the client never tells the two apart).

/** The only methods that cross the wire: the ones purge-client.ts calls (CoordinatorStub). */
export const COORDINATOR_METHODS = ["record", "receipt", "poll"] as const;
export type CoordinatorMethod = (typeof COORDINATOR_METHODS)[number];

export interface CoordinatorCall {
  /** The name given to idFromName: one object per name, as in production. */
  name: string;
  method: CoordinatorMethod;
  args: unknown[];
}

type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** What idFromName hands back here: the name itself, carried to the coordinator worker. */
interface NamedId {
  readonly name: string;
  toString(): string;
}

/**
 * A DurableObjectNamespace stand-in for Outpost: `get(idFromName(name))` returns a stub whose
 * record / receipt / poll POST `{ name, method, args }` to `<url>/rpc` and resolve to the answer's
 * `value` (a rejected call rejects with the coordinator's message, as an RPC error would).
 */
export function remoteCoordinatorNamespace(url: string, fetchImpl: FetchLike = (target, init) => fetch(target, init)): DurableObjectNamespace {
  const call = async (name: string, method: CoordinatorMethod, args: unknown[]): Promise<unknown> => {
    const response = await fetchImpl(`${url}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name, method, args } satisfies CoordinatorCall),
    });
    const answer = (await response.json()) as { value?: unknown; error?: string };
    if (!response.ok) throw new Error(answer.error ?? `the coordinator worker answered ${response.status}`);
    return answer.value;
  };
  const idFromName = (name: string): NamedId => ({ name, toString: () => name });
  const namespace = {
    idFromName,
    get(id: NamedId) {
      return Object.fromEntries(COORDINATOR_METHODS.map((method) => [method, (...args: unknown[]) => call(id.name, method, args)]));
    },
  };
  return namespace as unknown as DurableObjectNamespace;
}

export function isCoordinatorCall(value: unknown): value is CoordinatorCall {
  const call = value as Partial<CoordinatorCall> | null;
  return typeof call === "object" && call !== null && typeof call.name === "string" && Array.isArray(call.args) && (COORDINATOR_METHODS as readonly string[]).includes(call.method as string);
}

/** Calls made through answerCoordinatorCall, per method, and polls per location (request.cf.colo the client reports). */
export interface CoordinatorCallCounts {
  record: number;
  receipt: number;
  poll: number;
  pollsByColo: Record<string, number>;
  failed: number;
}

export function emptyCallCounts(): CoordinatorCallCounts {
  return { record: 0, receipt: 0, poll: 0, pollsByColo: {}, failed: 0 };
}

/**
 * The coordinator worker's side: runs one `{ name, method, args }` on the namespace's stub and
 * answers `{ value }` (200), `{ error }` (400 for a malformed call, 500 when the object threw).
 */
export async function answerCoordinatorCall(request: Request, namespace: DurableObjectNamespace, counts: CoordinatorCallCounts): Promise<Response> {
  let call: unknown;
  try {
    call = await request.json();
  } catch {
    call = undefined;
  }
  if (!isCoordinatorCall(call)) return Response.json({ error: `expected {"name", "method" (${COORDINATOR_METHODS.join(", ")}), "args": [...]}` }, { status: 400 });
  counts[call.method] += 1;
  if (call.method === "poll") {
    const colo = String((call.args[0] as { colo?: unknown } | undefined)?.colo ?? "unknown");
    counts.pollsByColo[colo] = (counts.pollsByColo[colo] ?? 0) + 1;
  }
  const stub = namespace.get(namespace.idFromName(call.name)) as unknown as Record<CoordinatorMethod, (...args: unknown[]) => Promise<unknown>>;
  try {
    const value = await stub[call.method](...call.args);
    return Response.json(value === undefined ? {} : { value });
  } catch (error) {
    counts.failed += 1;
    return Response.json({ error: error instanceof Error ? error.message : String(error) }, { status: 500 });
  }
}

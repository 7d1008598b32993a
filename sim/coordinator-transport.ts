// The simulator's RPC transport for the coordination objects that Outpost calls by method: the purge
// coordinator (`npm run sim -- --coordination`: record / receipt / poll) and the pool health objects
// (`--shared-health`: report / demotions). Each simulated location is its own workerd process, and a
// Durable Object binding cannot cross processes, so every location gets a stand-in namespace whose
// stubs send `{ name, method, args, location }` as JSON over loopback HTTP to one coordinator worker
// (sim/coordinator-worker.ts), which calls the real Durable Object (SQLite storage) on a real stub.
// This is a transport shim only: the object, its storage and every answer are the production class's;
// what differs from production is the wire (JSON over HTTP instead of RPC's structured clone), so a
// property whose value is `undefined` is dropped on the way (the clients never tell the two apart).
// One shim serves every class: only the method names (the ones its client calls) and the path differ.

/** The only methods that cross the wire for the purge coordinator: the ones purge-client.ts calls (CoordinatorStub). */
export const COORDINATOR_METHODS = ["record", "receipt", "poll"] as const;
export type CoordinatorMethod = (typeof COORDINATOR_METHODS)[number];
/** The pool health objects' methods: the ones pool-health-client.ts calls (PoolHealthStub). */
export const POOL_HEALTH_METHODS = ["report", "demotions"] as const;
export type PoolHealthMethod = (typeof POOL_HEALTH_METHODS)[number];

/** The coordinator worker's path for each class's calls. */
export const COORDINATOR_RPC_PATH = "/rpc";
export const POOL_HEALTH_RPC_PATH = "/rpc/pool-health";

export interface ObjectCall<Method extends string = string> {
  /** The name given to idFromName: one object per name, as in production. */
  name: string;
  method: Method;
  args: unknown[];
  /** The calling location (its colo), for the per-location counts; not passed to the object. */
  location?: string;
}
export type CoordinatorCall = ObjectCall<CoordinatorMethod>;

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** What idFromName hands back here: the name itself, carried to the coordinator worker. */
export interface NamedId {
  readonly name: string;
  toString(): string;
}

export interface RemoteObjectTarget {
  /** The coordinator worker's address, and the path of this class's calls. */
  url: string;
  path: string;
  methods: readonly string[];
  /** The calling location, sent with each call. */
  location?: string;
}

/**
 * A DurableObjectNamespace stand-in: `get(idFromName(name))` returns a stub whose methods (`methods`)
 * POST `{ name, method, args, location }` to `<url><path>` and resolve to the answer's `value` (a
 * rejected call rejects with the coordinator's message, as an RPC error would).
 */
export function remoteObjectNamespace(target: RemoteObjectTarget, fetchImpl: FetchLike = (url, init) => fetch(url, init)): DurableObjectNamespace {
  const call = async (name: string, method: string, args: unknown[]): Promise<unknown> => {
    const response = await fetchImpl(`${target.url}${target.path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name, method, args, ...(target.location !== undefined && { location: target.location }) } satisfies ObjectCall),
    });
    const answer = (await response.json()) as { value?: unknown; error?: string };
    if (!response.ok) throw new Error(answer.error ?? `the coordinator worker answered ${response.status}`);
    return answer.value;
  };
  const idFromName = (name: string): NamedId => ({ name, toString: () => name });
  const namespace = {
    idFromName,
    get(id: NamedId) {
      return Object.fromEntries(target.methods.map((method) => [method, (...args: unknown[]) => call(id.name, method, args)]));
    },
  };
  return namespace as unknown as DurableObjectNamespace;
}

/** The purge coordinator's namespace at a location (record / receipt / poll on `<url>/rpc`). */
export function remoteCoordinatorNamespace(url: string, fetchImpl?: FetchLike): DurableObjectNamespace {
  return remoteObjectNamespace({ url, path: COORDINATOR_RPC_PATH, methods: COORDINATOR_METHODS }, fetchImpl);
}

/** The pool health objects' namespace at a location (report / demotions on `<url>/rpc/pool-health`). */
export function remotePoolHealthNamespace(url: string, location: string, fetchImpl?: FetchLike): DurableObjectNamespace {
  return remoteObjectNamespace({ url, path: POOL_HEALTH_RPC_PATH, methods: POOL_HEALTH_METHODS, location }, fetchImpl);
}

export function isObjectCall<Method extends string>(value: unknown, methods: readonly Method[]): value is ObjectCall<Method> {
  const call = value as Partial<ObjectCall> | null;
  return typeof call === "object" && call !== null && typeof call.name === "string" && Array.isArray(call.args) && (methods as readonly string[]).includes(call.method as string);
}

export function isCoordinatorCall(value: unknown): value is CoordinatorCall {
  return isObjectCall(value, COORDINATOR_METHODS);
}

/** Calls made through answerObjectCall: per method, per location and method, and the ones that failed. */
export interface ObjectCallCounts {
  byMethod: Record<string, number>;
  byColo: Record<string, Record<string, number>>;
  failed: number;
}

export function emptyObjectCallCounts(): ObjectCallCounts {
  return { byMethod: {}, byColo: {}, failed: 0 };
}

/**
 * The coordinator worker's side: runs one `{ name, method, args }` (a method of `methods`) on the
 * namespace's stub and answers `{ value }` (200), `{ error }` (400 for a malformed call, 500 when the
 * object threw). `onCall` sees each well-formed call before it runs (for counts of its own).
 */
export async function answerObjectCall<Method extends string>(
  request: Request,
  namespace: DurableObjectNamespace,
  methods: readonly Method[],
  counts: ObjectCallCounts,
  onCall?: (call: ObjectCall<Method>) => void,
): Promise<Response> {
  let call: unknown;
  try {
    call = await request.json();
  } catch {
    call = undefined;
  }
  if (!isObjectCall(call, methods)) return Response.json({ error: `expected {"name", "method" (${methods.join(", ")}), "args": [...]}` }, { status: 400 });
  counts.byMethod[call.method] = (counts.byMethod[call.method] ?? 0) + 1;
  const colo = call.location ?? "unknown";
  const perColo = (counts.byColo[colo] ??= {});
  perColo[call.method] = (perColo[call.method] ?? 0) + 1;
  onCall?.(call);
  const stub = namespace.get(namespace.idFromName(call.name)) as unknown as Record<Method, (...args: unknown[]) => Promise<unknown>>;
  try {
    const value = await stub[call.method](...call.args);
    return Response.json(value === undefined ? {} : { value });
  } catch (error) {
    counts.failed += 1;
    return Response.json({ error: error instanceof Error ? error.message : String(error) }, { status: 500 });
  }
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

/** The purge coordinator's calls (answerObjectCall with its methods), counted in the shape the report reads. */
export async function answerCoordinatorCall(request: Request, namespace: DurableObjectNamespace, counts: CoordinatorCallCounts): Promise<Response> {
  const generic = emptyObjectCallCounts();
  const response = await answerObjectCall(request, namespace, COORDINATOR_METHODS, generic, (call) => {
    counts[call.method] += 1;
    if (call.method === "poll") {
      // The purge client names its colo in the poll itself.
      const colo = String((call.args[0] as { colo?: unknown } | undefined)?.colo ?? "unknown");
      counts.pollsByColo[colo] = (counts.pollsByColo[colo] ?? 0) + 1;
    }
  });
  counts.failed += generic.failed;
  return response;
}

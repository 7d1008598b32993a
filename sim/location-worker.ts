// One simulated location: Outpost's production entry with its OUTPOST_CACHE binding replaced by a
// KV object that calls the simulator's shared KV shim (sim/kv-server.mjs) over loopback HTTP, so
// every location sees KV as production does (per-location read cache, propagation delay, write
// limits; docs/simulator.md). Everything else (Cache API, isolate memory, request.cf) is this
// location's own. Bundled like `wrangler deploy --env production` with this file as the entry.
//
// SIM_KV (JSON var): { "url": "http://127.0.0.1:<port>", "location": "FRA" }.
// SIM_COORDINATOR (JSON var, `--coordination` only): { "url": "http://127.0.0.1:<port>" }: Outpost's
// OUTPOST_PURGE_COORDINATOR becomes a transport shim (sim/coordinator-transport.ts) whose stubs send
// record / receipt / poll over loopback HTTP to the one coordinator every location shares
// (sim/coordinator-worker.ts). The shim is only the wire: the object behind it is the real
// PurgeCoordinator Durable Object with SQLite storage.
import outpost from "../src/index.ts";
import type { OutpostEnv } from "../src/env.ts";
import { remoteCoordinatorNamespace } from "./coordinator-transport.ts";

// wrangler.toml's production environment binds the coordinator class, so `wrangler deploy` refuses an
// entry that does not export it. A location never runs it (no Durable Object binding here): every
// location shares the one in sim/coordinator-worker.ts.
export { OriginShield, PoolHealth, PurgeCoordinator } from "../src/index.ts";

interface SimKvTarget {
  url: string;
  location: string;
}

interface LocationEnv extends OutpostEnv {
  SIM_KV: SimKvTarget;
  SIM_COORDINATOR?: { url: string };
}

type ValueType = "text" | "json" | "arrayBuffer" | "stream";
type GetOptions = ValueType | { type?: ValueType; cacheTtl?: number } | undefined;

async function call(target: SimKvTarget, op: string, key: string | undefined, options: object, body?: ArrayBuffer): Promise<Response> {
  const response = await fetch(`${target.url}/kv/${op}`, {
    method: "POST",
    headers: { "x-sim-kv": JSON.stringify({ location: target.location, key, options }) },
    body,
  });
  if (!response.ok) throw new Error(await response.text());
  return response;
}

async function decode(response: Response, type: ValueType): Promise<unknown> {
  if (type === "arrayBuffer") return await response.arrayBuffer();
  if (type === "stream") return response.body ?? new Response(new Uint8Array(0)).body;
  const text = await response.text();
  return type === "json" ? JSON.parse(text) : text;
}

function readOptions(options: GetOptions): { type: ValueType; cacheTtl?: number } {
  if (typeof options === "string") return { type: options };
  return { type: options?.type ?? "text", ...(options?.cacheTtl !== undefined && { cacheTtl: options.cacheTtl }) };
}

function remoteKv(target: SimKvTarget): KVNamespace {
  const getWithMetadata = async (key: string, options?: GetOptions) => {
    const { type, cacheTtl } = readOptions(options);
    const response = await call(target, "get", key, cacheTtl === undefined ? {} : { cacheTtl });
    if (response.headers.get("x-sim-kv-found") !== "1") {
      await response.body?.cancel();
      return { value: null, metadata: null, cacheStatus: null };
    }
    const metadata: unknown = JSON.parse(decodeURIComponent(response.headers.get("x-sim-kv-metadata") ?? "null"));
    return { value: await decode(response, type), metadata, cacheStatus: null };
  };
  const kv = {
    async get(key: string, options?: GetOptions) {
      return (await getWithMetadata(key, options)).value;
    },
    getWithMetadata,
    async put(key: string, value: string | ArrayBuffer | ArrayBufferView | ReadableStream, options: { expirationTtl?: number; expiration?: number; metadata?: unknown } = {}) {
      const body = await new Response(value as BodyInit).arrayBuffer();
      await (await call(target, "put", key, options, body)).body?.cancel();
    },
    async delete(key: string) {
      await (await call(target, "delete", key, {})).body?.cancel();
    },
    async list(options: { prefix?: string; cursor?: string; limit?: number } = {}) {
      return await (await call(target, "list", undefined, options)).json();
    },
  };
  return kv as unknown as KVNamespace;
}

// One wrapped env per original env, made once per isolate: Outpost memoises its configuration per
// env object and keeps its cache store while the KV binding object stays the same (as in production).
const wrappedEnvs = new WeakMap<object, OutpostEnv>();

function wrappedEnv(env: LocationEnv): OutpostEnv {
  let wrapped = wrappedEnvs.get(env);
  if (!wrapped) {
    wrapped = {
      ...env,
      OUTPOST_CACHE: remoteKv(env.SIM_KV),
      ...(env.SIM_COORDINATOR && { OUTPOST_PURGE_COORDINATOR: remoteCoordinatorNamespace(env.SIM_COORDINATOR.url) as unknown as OutpostEnv["OUTPOST_PURGE_COORDINATOR"] }),
    };
    wrappedEnvs.set(env, wrapped);
  }
  return wrapped;
}

export default {
  fetch(request, env, ctx) {
    return outpost.fetch(request, wrappedEnv(env), ctx);
  },
  scheduled(controller, env, ctx) {
    return outpost.scheduled(controller, wrappedEnv(env), ctx);
  },
} satisfies ExportedHandler<LocationEnv>;

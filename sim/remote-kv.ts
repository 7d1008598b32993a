// The simulator's OUTPOST_CACHE binding: a KV object that calls the shared KV shim (sim/kv-server.mjs)
// over loopback HTTP as one named location, so every caller sees KV as production does (its own read
// cache, propagation delay to the others, write limits; docs/simulator.md). Each simulated location
// uses it (sim/location-worker.ts), and so does the origin shield in the coordinator worker, as the
// location "SHIELD" (sim/coordinator-worker.ts).

/** SIM_KV (JSON var): { "url": "http://127.0.0.1:<port>", "location": "FRA" }. */
export interface SimKvTarget {
  url: string;
  location: string;
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

export function remoteKv(target: SimKvTarget): KVNamespace {
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

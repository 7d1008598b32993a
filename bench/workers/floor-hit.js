// Reference, not a baseline to beat: the least a worker can do to answer a cache hit with what the
// issues require of every hit, hand-written with none of Outpost's pipeline. From the URL it builds
// the key Outpost would (`KEY_PREFIX`, then origin, path and query); it reads Outpost's own record
// (the bench copies it into this worker's KV under that key, with its expiration),
// decodes it, and answers with the stored status and headers plus Age and Cache-Status (#4),
// Server-Timing and a request id (#5), checking what every hit must check (authorization,
// preconditions, range, HEAD). With TIER = "memory" it reads KV once and then answers from memory,
// with the headers prepared once, as Outpost's hot tier does. Its distance from the bare workers is
// what the required answer itself costs on this platform; Outpost is measured against both.
const DECODER = new TextDecoder();
let isolateId;
let counter = 0;
let hot;

async function readEntry(kv, key) {
  const data = await kv.get(key, "arrayBuffer");
  if (data === null) return undefined;
  const length = new DataView(data).getUint32(0);
  const meta = JSON.parse(DECODER.decode(new Uint8Array(data, 4, length)));
  return meta.v === 1 && meta.kind === "response" ? { meta, body: new Uint8Array(data, 4 + length) } : undefined;
}

export default {
  async fetch(request, env) {
    const startedAt = Date.now();
    const url = new URL(request.url);
    const key = `${env.KEY_PREFIX}${url.protocol}//${url.host}${url.pathname}${url.search}`;
    const fields = request.headers;
    const id = fields.get("cf-ray") ?? `${(isolateId ??= crypto.randomUUID().slice(0, 12))}-${(++counter).toString(36)}`;
    // Outpost forwards these; the reference only measures hits, so anything else is an error the probe sees.
    if (fields.has("authorization") || fields.has("range")) return new Response("not a plain hit", { status: 500 });

    let entry = env.TIER === "memory" ? hot : undefined;
    let timing = `memory;dur=0;desc="hit"`;
    if (!entry) {
      const readAt = Date.now();
      entry = await readEntry(env.KV, key);
      if (!entry) return new Response("no entry", { status: 500 });
      timing = `kv;dur=${Date.now() - readAt};desc="hit"`;
      if (env.TIER === "memory") hot = { ...entry, headers: new Headers(entry.meta.headers) };
    }
    const now = Date.now();
    const { meta } = entry;
    if (now >= meta.freshUntilAt) return new Response("stale", { status: 500 });
    const headers = entry.headers ? new Headers(entry.headers) : new Headers();
    if (!entry.headers) for (const [name, value] of meta.headers) headers.append(name, value);
    headers.set("age", String(Math.max(0, Math.floor(meta.initialAgeSeconds + (now - meta.storedAt) / 1000))));
    headers.set("cache-status", `Outpost; hit; ttl=${Math.floor((meta.freshUntilAt - now) / 1000)}; detail=${env.TIER}`);
    headers.set("outpost-request-id", id);
    headers.set("server-timing", `${timing}, total;dur=${Date.now() - startedAt}`);
    if (fields.has("if-none-match") || fields.has("if-modified-since")) return new Response(null, { status: 304, headers });
    return new Response(request.method === "HEAD" ? null : entry.body, { status: meta.status, headers });
  },
};

// Baseline: read one object from KV and return it. The bench copies there the very entry Outpost
// keeps in KV for its KV-tier hit, under the same key (`KEY`) with the same expiration: the same key,
// the same bytes (its record: a small header, then the 10 KB body). The key is not free on Miniflare:
// the same bytes under the 6-byte key "object" with no expiration (`KEY` = "object", the bench's
// short-key row, the baseline until 2026-11-24) read 0-3% faster in the runs so far.
export default {
  async fetch(_request, env) {
    const body = await env.KV.get(env.KEY, "arrayBuffer");
    return new Response(body, { headers: { "content-type": "text/plain" } });
  },
};

// Baseline: read one object from KV and return it. The bench stores there the very bytes Outpost keeps
// in KV for its KV-tier hit (its record: a small header, then the 10 KB body): the same value is read.
export default {
  async fetch(_request, env) {
    const body = await env.KV.get("object", "arrayBuffer");
    return new Response(body, { headers: { "content-type": "text/plain" } });
  },
};

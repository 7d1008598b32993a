// Baseline: read the same 10 KB object from KV and return it.
export default {
  async fetch(_request, env) {
    const body = await env.KV.get("object", "arrayBuffer");
    return new Response(body, { headers: { "content-type": "text/plain" } });
  },
};

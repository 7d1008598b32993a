// Baseline: the storage steps of a cacheable miss and nothing else: look up the Cache API and KV,
// fetch from the origin, answer, and store the body in both in the background.
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const path = url.pathname + url.search;
    const cacheKey = new Request(`https://cache.invalid/${encodeURIComponent(path)}`);
    const cached = await caches.default.match(cacheKey);
    if (cached) return cached;
    const stored = await env.KV.get(path, "arrayBuffer");
    if (stored) return new Response(stored, { headers: { "content-type": "application/octet-stream" } });
    const response = await fetch(env.ORIGIN + path, { headers: request.headers });
    const body = await response.arrayBuffer();
    ctx.waitUntil(
      Promise.all([
        caches.default.put(cacheKey, new Response(body, { headers: { "cache-control": "max-age=3600" } })),
        env.KV.put(path, body, { expirationTtl: 3600 }),
      ]),
    );
    return new Response(body, { headers: response.headers });
  },
};

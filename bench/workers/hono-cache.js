// Baseline: what a Hono user would write instead of Outpost, Hono's own cache middleware (Cache API)
// in front of the same origin. Bundled with esbuild by the bench (it imports from node_modules).
import { Hono } from "hono";
import { cache } from "hono/cache";

const app = new Hono();
app.get("*", cache({ cacheName: "hono-bench", wait: false }), (c) => {
  const url = new URL(c.req.url);
  return fetch(c.env.ORIGIN + url.pathname + url.search, { headers: c.req.raw.headers });
});

export default app;

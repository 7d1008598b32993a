#!/usr/bin/env node
// The bundled demo origin that `npm start` puts Outpost in front of: two small sites on loopback
// (demo-a on :8788, the primary; demo-b on :8789, the backup) so failover can be seen by stopping one.
// Usage: node scripts/demo-origin.mjs [name=port ...]   (default: demo-a=8788 demo-b=8789)
import { createServer } from "node:http";

/** A large object (4 MiB): from 1 MiB on, Outpost streams hits from the Cache API instead of reading them whole. */
const DOWNLOAD = Buffer.alloc(4 * 1024 * 1024, "outpost ");

const PAGES = {
  "/": (name) => ({
    status: 200,
    // Cache-Tag: purge the home page by tag (POST /__outpost/purge {"tags": ["home"]}).
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=30", "cache-tag": "home, demo" },
    body: `<!doctype html><html><head><meta charset="utf-8"><title>Outpost demo (${name})</title></head>
<body style="font-family: system-ui; max-width: 40rem; margin: 3rem auto">
<h1>Served by ${name}</h1>
<p>Generated at ${new Date().toISOString()}. Outpost forwarded this request from the edge to the demo origin
<strong>${name}</strong>; the <code>Outpost-Upstream</code> response header names the route, pool and origin.</p>
<ul><li><a href="/api/time">/api/time</a> (JSON, not cacheable)</li><li><a href="/health">/health</a></li>
<li><a href="/slow?ms=2000">/slow?ms=2000</a></li><li><a href="/status/503">/status/503</a></li>
<li><a href="/download">/download</a> (4 MiB, cacheable: a large object, streamed from the cache)</li></ul>
</body></html>\n`,
  }),
  "/api/time": (name) => ({
    status: 200,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
    body: JSON.stringify({ origin: name, time: new Date().toISOString() }) + "\n",
  }),
  "/health": () => ({ status: 200, headers: { "content-type": "text/plain", "cache-control": "no-store" }, body: "ok\n" }),
  "/download": () => ({ status: 200, headers: { "content-type": "application/octet-stream", "cache-control": "public, max-age=300", etag: '"download-1"' }, body: DOWNLOAD }),
};

function respond(name, req, res) {
  const url = new URL(req.url, "http://demo");
  const send = ({ status, headers, body }) => {
    res.writeHead(status, { ...headers, "x-demo-origin": name });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  const statusMatch = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (statusMatch) return send({ status: Number(statusMatch[1]), headers: { "content-type": "text/plain" }, body: `status ${statusMatch[1]} from ${name}\n` });
  if (url.pathname === "/slow") {
    const delayMs = Math.min(Number(url.searchParams.get("ms") ?? 1000) || 0, 60_000);
    setTimeout(() => send(PAGES["/api/time"](name)), delayMs);
    return;
  }
  const page = PAGES[url.pathname];
  if (page) return send(page(name));
  send({ status: 404, headers: { "content-type": "text/plain" }, body: `no page ${url.pathname} on ${name}\n` });
}

export async function startDemoOrigins(listeners) {
  return Promise.all(
    listeners.map(
      ({ name, port }) =>
        new Promise((resolve, reject) => {
          const server = createServer((req, res) => respond(name, req, res));
          server.once("error", reject);
          server.listen(port, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const specs = process.argv.slice(2);
  const listeners = (specs.length ? specs : ["demo-a=8788", "demo-b=8789"]).map((spec) => {
    const [name, port] = spec.split("=");
    return { name, port: Number(port) };
  });
  startDemoOrigins(listeners).then(
    () => {
      for (const { name, port } of listeners) console.log(`demo origin ${name} listening on http://127.0.0.1:${port}`);
    },
    (error) => {
      console.error(`demo origin: ${error.message}`);
      process.exit(1);
    },
  );
}

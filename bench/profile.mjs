#!/usr/bin/env node
// `npm run profile [-- --path /object] [--tiers memory,colo,kv]`: where Outpost spends CPU on one kind
// of request. Bundles Outpost unminified, runs it on Miniflare with the V8 inspector, puts load on one
// URL in front of a local origin (paths starting /pass answer no-store, others max-age=3600), samples
// with the inspector's profiler and prints the functions with the most self time.
import autocannon from "autocannon";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { bundleWorker, outpostEnv, startWorker } from "../scripts/worker-bundle.mjs";

const { values } = parseArgs({ options: { path: { type: "string", default: "/object" }, tiers: { type: "string", default: "memory,colo,kv" }, seconds: { type: "string", default: "4" } } });
const INSPECTOR_PORT = 9239;

const script = bundleWorker("profile-build", { minify: false });

const body = Buffer.alloc(10 * 1024, "o");
const origin = createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "cache-control": req.url.startsWith("/pass") ? "no-store" : "public, max-age=3600" });
  res.end(body);
});
await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));

const config = {
  cache_tiers: values.tiers.split(","),
  pools: [{ name: "origin", origins: [{ name: "origin", address: `http://127.0.0.1:${origin.address().port}` }] }],
  routes: [{ name: "profile", default_pools: ["origin"] }],
};
const { mf, url: base } = await startWorker("outpost", script, outpostEnv(config), { inspectorPort: INSPECTOR_PORT });
const url = new URL(values.path, base).toString();
for (let i = 0; i < 3; i += 1) {
  await (await fetch(url)).arrayBuffer();
  await new Promise((resolve) => setTimeout(resolve, 300)); // stores happen in waitUntil
}

const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json/list`)).json();
const target = targets.find((t) => `${t.title}${t.id}`.includes("outpost")) ?? targets[0];
const socket = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve) => socket.addEventListener("open", resolve));
let nextId = 0;
const pending = new Map();
socket.addEventListener("message", (event) => {
  const message = JSON.parse(event.data);
  pending.get(message.id)?.(message);
  pending.delete(message.id);
});
const send = (method, params = {}) =>
  new Promise((resolve) => {
    const id = ++nextId;
    pending.set(id, resolve);
    socket.send(JSON.stringify({ id, method, params }));
  });

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
const load = await autocannon({ url, connections: 10, duration: Number(values.seconds) });
const { result } = await send("Profiler.stop");
const cacheStatus = (await fetch(url)).headers.get("cache-status");
console.log(`${url}: ${Math.round(load.requests.average)} req/s, Cache-Status: ${cacheStatus}\n`);

const nodes = new Map(result.profile.nodes.map((node) => [node.id, node]));
const selfSamples = new Map();
for (const id of result.profile.samples) {
  const { functionName, url: file, lineNumber } = nodes.get(id).callFrame;
  const name = `${functionName || "(anonymous)"} ${file ? `${file.split("/").pop()}:${lineNumber + 1}` : "(runtime)"}`;
  selfSamples.set(name, (selfSamples.get(name) ?? 0) + 1);
}
const total = result.profile.samples.length;
console.log("| self time | function |\n|---|---|");
for (const [name, count] of [...selfSamples].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`| ${((100 * count) / total).toFixed(1)}% | ${name} |`);
}
socket.close();
await mf.dispose();
origin.close();

#!/usr/bin/env node
// `npm run profile [-- --path /object] [--tiers memory,colo,kv]`: where Outpost spends CPU on one kind
// of request. Bundles Outpost unminified, runs it on Miniflare with the V8 inspector, puts load on one
// URL in front of a local origin (paths starting /pass answer no-store, others max-age=3600), samples
// with the inspector's profiler and prints the functions with the most self time.
import autocannon from "autocannon";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { path: { type: "string", default: "/object" }, tiers: { type: "string", default: "memory,colo,kv" }, seconds: { type: "string", default: "4" } } });
const INSPECTOR_PORT = 9239;

const outdir = join(projectRoot, ".wrangler", "profile-build");
rmSync(outdir, { recursive: true, force: true });
execFileSync(process.execPath, [join(projectRoot, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--env", "production", "--outdir", outdir, "--minify=false"], {
  cwd: projectRoot,
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
const script = readFileSync(join(outdir, readdirSync(outdir).find((name) => name.endsWith(".js"))), "utf8");

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
const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  inspectorPort: INSPECTOR_PORT,
  workers: [{ config: { name: "outpost", compatibilityDate: "2026-10-20", manifest: { mainModule: "index.js", modulesRoot: "/", modules: { "index.js": { type: "esm", contents: script } } }, env: { OUTPOST_CACHE: { type: "kv" }, OUTPOST: { type: "json", value: config } } } }],
});
const url = new URL(values.path, await mf.ready).toString();
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

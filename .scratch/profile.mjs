import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";

execFileSync(process.execPath, ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--env", "production", "--outdir", ".wrangler/prof-build", "--minify=false"], { stdio: "ignore" });
const script = readFileSync(".wrangler/prof-build/" + readdirSync(".wrangler/prof-build").find((n) => n.endsWith(".js")), "utf8");
const body = Buffer.alloc(10240, "o");
const origin = createServer((req, res) => { res.writeHead(200, { "content-type": "text/plain", "cache-control": "public, max-age=3600" }); res.end(body); });
await new Promise((r) => origin.listen(0, "127.0.0.1", r));
const tiers = JSON.parse(process.argv[2] ?? '["memory","colo","kv"]');
const mf = new Miniflare({ host: "127.0.0.1", port: 0, inspectorPort: 9239, workers: [{ config: { name: "outpost", compatibilityDate: "2026-10-20", manifest: { mainModule: "index.js", modulesRoot: "/", modules: { "index.js": { type: "esm", contents: script } } }, env: { OUTPOST_CACHE: { type: "kv" }, OUTPOST: { type: "json", value: { cache_tiers: tiers, pools: [{ name: "o", origins: [{ name: "o", address: `http://127.0.0.1:${origin.address().port}` }] }], routes: [{ name: "r", default_pools: ["o"] }] } } } } }] });
const url = (await mf.ready).toString() + "object";
for (let i = 0; i < 3; i++) { await (await fetch(url)).arrayBuffer(); await new Promise((r) => setTimeout(r, 300)); }
const list = await (await fetch("http://127.0.0.1:9239/json/list")).json();
const target = list.find((t) => t.title?.includes("outpost") || t.id?.includes("outpost")) ?? list[0];
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener("open", r));
let id = 0; const pending = new Map();
ws.addEventListener("message", (e) => { const m = JSON.parse(e.data); if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); } });
const send = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
await send("Profiler.enable"); await send("Profiler.setSamplingInterval", { interval: 100 }); await send("Profiler.start");
const result = await autocannon({ url, connections: 10, duration: 4 });
const { result: { profile } } = await send("Profiler.stop");
console.log("req/s", Math.round(result.requests.average), (await fetch(url)).headers.get("cache-status"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map(); let total = 0;
for (const s of profile.samples) { const n = byId.get(s); const k = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + 1); total++; }
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
for (const [k, v] of top) console.log((100 * v / total).toFixed(1).padStart(5) + "%", k);
ws.close(); await mf.dispose(); origin.close();

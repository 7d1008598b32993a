#!/usr/bin/env node
// `npm run bench [-- --quick]`: Outpost against baseline workers in one run, on the Miniflare Node
// API (the leanest local runner with KV and the Cache API), with autocannon on loopback and a local
// origin. Scenarios are interleaved (A B C ... A B C ...) and repeated; the table shows medians and
// ratios against the baselines measured in the same run. Absolute numbers vary by machine; ratios
// are the point. Results are written to bench/results/latest.json with versions and machine.
import autocannon from "autocannon";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { cpus, totalmem } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker, startWorker } from "./worker-bundle.mjs";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 1 : 5;
const DURATION_SECONDS = quick ? 2 : 4;
const CONNECTIONS = 10;
const OBJECT_BYTES = 10 * 1024;

async function startOrigin() {
  const body = Buffer.alloc(OBJECT_BYTES, "o");
  let hits = 0;
  const server = createServer((req, res) => {
    hits += 1;
    const cacheable = !req.url.startsWith("/pass");
    res.writeHead(200, { "content-type": "text/plain", "content-length": OBJECT_BYTES, "cache-control": cacheable ? "public, max-age=3600" : "no-store" });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}`, hits: () => hits };
}

/**
 * On Linux with 2+ cores: the workers' workerd processes on one core, this process (autocannon and
 * the origin) on another, so the load generator does not steal the workers' CPU. Noise drops a lot.
 */
function pinCores() {
  try {
    const children = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter(([pid, command]) => pid && command?.startsWith("workerd"))
      .map(([pid]) => pid);
    for (const pid of children) execFileSync("taskset", ["-acp", "1", pid], { stdio: "ignore" });
    execFileSync("taskset", ["-acp", "0", String(process.pid)], { stdio: "ignore" });
    return `workerd (${children.length} processes) on core 1, load generator and origin on core 0`;
  } catch {
    return "not pinned (needs Linux, taskset and 2 cores)";
  }
}

function outpostConfig(originUrl, tiers) {
  return {
    cache_tiers: tiers,
    pools: [{ name: "origin", origins: [{ name: "origin", address: originUrl }] }],
    routes: [{ name: "bench", default_pools: ["origin"] }],
  };
}

async function load(url) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_SECONDS });
  return { requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors + result.non2xx };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main() {
  console.log(`bench: building Outpost; ${ROUNDS} round(s) of ${DURATION_SECONDS} s per scenario, ${CONNECTIONS} connections`);
  const outpostScript = bundleWorker("bench-build");
  const origin = await startOrigin();
  const object = new Uint8Array(OBJECT_BYTES).fill(107);
  const kvOnly = { OUTPOST_CACHE: { type: "kv" } };
  const workers = {
    constant: await startWorker("bare-constant", readFileSync(join(projectRoot, "bench/workers/bare-constant.js"), "utf8"), {}),
    "bare-kv": await startWorker("bare-kv", readFileSync(join(projectRoot, "bench/workers/bare-kv.js"), "utf8"), { KV: { type: "kv" } }),
    "bare-proxy": await startWorker("bare-proxy", readFileSync(join(projectRoot, "bench/workers/bare-proxy.js"), "utf8"), { ORIGIN: { type: "text", value: origin.url } }),
    "outpost-all-tiers": await startWorker("outpost-all", outpostScript, { ...kvOnly, OUTPOST: { type: "json", value: outpostConfig(origin.url, ["memory", "colo", "kv"]) } }),
    "outpost-colo": await startWorker("outpost-colo", outpostScript, { ...kvOnly, OUTPOST: { type: "json", value: outpostConfig(origin.url, ["colo", "kv"]) } }),
    "outpost-kv": await startWorker("outpost-kv", outpostScript, { ...kvOnly, OUTPOST: { type: "json", value: outpostConfig(origin.url, ["kv"]) } }),
  };
  await (await workers["bare-kv"].mf.getKVNamespace("KV")).put("object", object);
  const pinning = pinCores();
  console.log(`bench: ${pinning}`);

  const scenarios = [
    { name: "bare constant 10 KB", url: `${workers.constant.url}/` },
    { name: "bare KV read 10 KB", url: `${workers["bare-kv"].url}/` },
    { name: "bare proxy", url: `${workers["bare-proxy"].url}/pass` },
    { name: "Outpost hit (hot tier)", url: `${workers["outpost-all-tiers"].url}/object`, warm: true },
    { name: "Outpost hit (Cache API tier)", url: `${workers["outpost-colo"].url}/object`, warm: true },
    { name: "Outpost hit (KV tier)", url: `${workers["outpost-kv"].url}/object`, warm: true },
    { name: "Outpost pass-through (uncacheable)", url: `${workers["outpost-all-tiers"].url}/pass` },
  ];
  for (const scenario of scenarios.filter((s) => s.warm)) {
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(scenario.url);
      scenario.warmStatus = response.headers.get("cache-status");
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 300)); // the store happens in waitUntil
    }
  }

  const samples = Object.fromEntries(scenarios.map((s) => [s.name, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const scenario of scenarios) samples[scenario.name].push(await load(scenario.url));
  }
  const summary = Object.fromEntries(
    scenarios.map((s) => [
      s.name,
      {
        requestsPerSecond: median(samples[s.name].map((x) => x.requestsPerSecond)),
        p50Ms: median(samples[s.name].map((x) => x.p50Ms)),
        p99Ms: median(samples[s.name].map((x) => x.p99Ms)),
        errors: samples[s.name].reduce((n, x) => n + x.errors, 0),
        cacheStatus: s.warmStatus,
      },
    ]),
  );
  // Ratios are paired by round (both sides measured minutes apart at most), then the median is taken:
  // this machine drifts during a run, and pairing cancels most of it.
  const pairedRatio = (name, baseline) => median(samples[name].map((sample, round) => sample.requestsPerSecond / samples[baseline][round].requestsPerSecond));
  const targets = [
    { check: "KV hit vs bare KV read", ratio: pairedRatio("Outpost hit (KV tier)", "bare KV read 10 KB"), target: 0.9 },
    { check: "hot-tier hit vs bare constant", ratio: pairedRatio("Outpost hit (hot tier)", "bare constant 10 KB"), target: 0.8 },
    { check: "pass-through vs bare proxy", ratio: pairedRatio("Outpost pass-through (uncacheable)", "bare proxy"), target: 0.9 },
    { check: "Cache API hit vs bare KV read", ratio: pairedRatio("Outpost hit (Cache API tier)", "bare KV read 10 KB"), target: undefined },
  ];

  console.log("\n| scenario | req/s (median) | p50 ms | p99 ms | errors | warm Cache-Status |");
  console.log("|---|---|---|---|---|---|");
  for (const [name, s] of Object.entries(summary)) {
    console.log(`| ${name} | ${Math.round(s.requestsPerSecond)} | ${s.p50Ms} | ${s.p99Ms} | ${s.errors} | ${s.cacheStatus ?? ""} |`);
  }
  console.log("\n| ratio | value | target | met |");
  console.log("|---|---|---|---|");
  for (const t of targets) console.log(`| ${t.check} | ${t.ratio.toFixed(2)}x | ${t.target ? `>= ${t.target}x` : "-"} | ${t.target ? (t.ratio >= t.target ? "yes" : "NO") : "-"} |`);

  mkdirSync(join(projectRoot, "bench", "results"), { recursive: true });
  const pkg = (name) => JSON.parse(readFileSync(join(projectRoot, "node_modules", name, "package.json"), "utf8")).version;
  writeFileSync(
    join(projectRoot, "bench", "results", "latest.json"),
    `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version }, versions: { miniflare: pkg("miniflare"), workerd: pkg("workerd"), autocannon: pkg("autocannon") }, pinning, rounds: ROUNDS, durationSeconds: DURATION_SECONDS, connections: CONNECTIONS, summary, targets, samples }, null, 2)}\n`,
  );
  for (const worker of Object.values(workers)) await worker.mf.dispose();
  origin.server.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

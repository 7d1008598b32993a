#!/usr/bin/env node
// `npm run ab [-- --base <git revision>] [--path /object] [--tiers kv] [--rounds 8] [--seconds 5]`: is
// this tree's Outpost faster or slower than the base revision's (default HEAD) on one kind of request?
// Both builds and a bare worker reading the same KV key (`bench/workers/bare-kv.js`, Outpost's entry
// copied with its key and expiration) run in fresh workerd processes every round, all pinned to one
// core and loaded at the same time: each gets an equal share of the core, so their throughputs stand
// in the inverse ratio of their CPU per request, under the very same machine. Rounds agree within
// 1-3% here, where loads taken one after the other drift by up to ±15%, so over 8 rounds a change
// worth 1% is visible (two builds of the same code: 1.002x). Loaded together, every ratio reads lower than in `npm run bench` (the processes share the
// CPU caches, and more code loses more): compare builds with this, state targets with the bench.
import autocannon from "autocannon";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CONNECTIONS, cpuMs, median, pinCores, request, sleep, startWithPid } from "./lib/measure.mjs";
import { startOrigin } from "./lib/origins.mjs";
import { bundleWorker, copyKvEntry, outpostEnv, storedKvEntry } from "../scripts/worker-bundle.mjs";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    base: { type: "string", default: "HEAD" },
    path: { type: "string", default: "/object" },
    tiers: { type: "string", default: "kv" },
    rounds: { type: "string", default: "8" },
    seconds: { type: "string", default: "5" },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);

/** The base revision bundled from a temporary checkout that borrows this tree's node_modules. */
function bundleRevision(revision) {
  const checkout = mkdtempSync(join(tmpdir(), "outpost-ab-"));
  try {
    execFileSync("git", ["worktree", "add", "--detach", checkout, revision], { cwd: projectRoot, stdio: "ignore" });
    symlinkSync(join(projectRoot, "node_modules"), join(checkout, "node_modules"));
    return bundleWorker("ab-base", { root: checkout });
  } finally {
    execFileSync("git", ["worktree", "remove", "--force", checkout], { cwd: projectRoot, stdio: "ignore" });
    rmSync(checkout, { recursive: true, force: true });
  }
}

/** Workers still running: stopped after each round, or when the run fails half-way. */
const running = new Set();

/** Starts a worker (its logs dropped) and finds its workerd process. */
async function startTracked(name, script, env) {
  const worker = await startWithPid(name, script, env, { handleStructuredLogs: () => {} });
  running.add(worker.mf);
  return worker;
}

const loadTogether = (workers, seconds) =>
  Promise.all(workers.map(({ url, path }) => autocannon({ url: `${url}${path}`, connections: CONNECTIONS, duration: seconds })));

console.log(`ab: bundling this tree and ${values.base}`);
const builds = { base: bundleRevision(values.base), tree: bundleWorker("ab-tree") };
const bare = readFileSync(join(projectRoot, "bench/workers/bare-kv.js"), "utf8");
const origin = await startOrigin();
const config = { cache_tiers: values.tiers.split(","), pools: [{ name: "origin", origins: [{ name: "origin", address: origin.url }] }], routes: [{ name: "ab", default_pools: ["origin"], cache: { admission: { kv_after_requests: 1 } } }] }; // the first miss writes KV
const names = ["bare KV read (same key)", `Outpost ${values.base}`, "Outpost this tree"];
const samples = names.map(() => []);
let cacheStatus = {};
try {
  for (let round = 0; round < ROUNDS; round += 1) {
    // Start order alternates, so neither build is always the older process.
    const order = round % 2 ? ["tree", "base"] : ["base", "tree"];
    const outposts = {};
    for (const build of order) {
      outposts[build] = await startTracked(`ab-${build}-${round}`, builds[build], outpostEnv(config));
      for (let i = 0; i < 3; i += 1) {
        await request(`${outposts[build].url}${values.path}`);
        await sleep(150); // stores happen in waitUntil
      }
    }
    const entry = await storedKvEntry(outposts.base.mf);
    const reference = await startTracked(`ab-bare-${round}`, bare, { KV: { type: "kv" }, KEY: { type: "text", value: entry.key } });
    await copyKvEntry(reference.mf, entry);
    const workers = [
      { ...reference, path: "/" },
      { ...outposts.base, path: values.path },
      { ...outposts.tree, path: values.path },
    ];
    pinCores(workers.map((w) => w.pid));
    cacheStatus = Object.fromEntries(await Promise.all(workers.slice(1).map(async (w, i) => [names[i + 1], (await request(`${w.url}${w.path}`)).headers["cache-status"]])));
    await loadTogether(workers, 1); // warm-up: the JIT compiles first
    const cpuBefore = workers.map((w) => cpuMs(w.pid));
    const startedAt = performance.now();
    const loads = await loadTogether(workers, SECONDS);
    const elapsed = (performance.now() - startedAt) / 1000;
    workers.forEach((w, i) => samples[i].push({ rps: loads[i].requests.total / elapsed, cpuMs: (cpuMs(w.pid) - cpuBefore[i]) / loads[i].requests.total, errors: loads[i].errors + loads[i].non2xx }));
    for (const w of workers) {
      running.delete(w.mf);
      await w.mf.dispose();
    }
    console.log(`ab: round ${round + 1}/${ROUNDS}`);
  }
} finally {
  for (const mf of running) await mf.dispose().catch(() => {});
  await origin.close?.();
}

const ratios = (i, j, of) => samples[i].map((s, round) => of(s, samples[j][round]));
const fmt = (xs) => xs.map((x) => x.toFixed(3)).join(" ");
console.log(`\n${values.path} with cache_tiers ${values.tiers}; ${ROUNDS} rounds of ${SECONDS} s, all three loaded at once on one core`);
console.log("\n| worker | req/s | CPU ms/req | errors | Cache-Status |\n|---|---|---|---|---|");
names.forEach((name, i) => console.log(`| ${name} | ${Math.round(median(samples[i].map((s) => s.rps)))} | ${median(samples[i].map((s) => s.cpuMs)).toFixed(3)} | ${samples[i].reduce((n, s) => n + s.errors, 0)} | ${cacheStatus[name] ?? ""} |`));
const speed = (a, b) => b.cpuMs / a.cpuMs; // > 1: a spends less CPU per request than b
console.log("\n| comparison | median | per round |\n|---|---|---|");
for (const [i, j] of [[2, 1], [1, 0], [2, 0]]) {
  const xs = ratios(i, j, speed);
  console.log(`| ${names[i]} / ${names[j]} (inverse CPU per request) | ${median(xs).toFixed(3)}x | ${fmt(xs)} |`);
}
if (samples.some((list) => list.some((s) => s.errors > 0))) process.exitCode = 1;

#!/usr/bin/env node
// `npm run bench [-- --quick]`: Outpost against baseline workers in one run, on the Miniflare Node
// API (the leanest local runner with KV and the Cache API), with autocannon on loopback and local
// origins. Load scenarios are interleaved and repeated in rounds (A B C ... then ... C B A, so slow
// drift of the machine hits both sides of a comparison alike), and the sides of each throughput target
// take turns in 200 ms slices within their round (a `group`); every round starts every worker afresh
// (one workerd process is a few per cent faster or slower than another for its whole life: fresh
// processes average that out instead of fixing it for the run), and every measured load follows an
// unmeasured warm-up load (the JIT compiles Outpost's code first). Every scenario is checked before
// its load (a probe's Cache-Status / Outpost-Upstream) and during it (what the origin saw). Then
// request collapsing (every round) and the memory of streaming a 20 MiB object. The final table has
// one row per measurement; ratios are paired by round, then the median is taken. Absolute numbers
// vary by machine; ratios are the point. Everything, every sample included, goes to
// bench/results/latest.json with versions and machine.
//
// Modules: bench/origins.mjs (local origins), bench/measure.mjs (load, bursts, memory sampling),
// bench/scenarios.mjs (workers, scenarios, measurements and their targets).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONNECTIONS, burst, cpuMs, load, loadAlternating, loadInBatches, median, pinCores, request, sleep, startWithPid, streamWithMemory } from "./lib/measure.mjs";
import { LARGE_OBJECT_BYTES, startOrigin, startRefusingOrigin, startResettingOrigin } from "./lib/origins.mjs";
import { runSafety } from "./lib/safety.mjs";
import { memoryMeasurements, runMemory } from "./lib/memory.mjs";
import { COLLAPSE_REQUESTS, loadScenarios, measurements, streamMeasurement, streamVariants, workerDefinitions } from "./lib/scenarios.mjs";
import { bundleWorker, copyKvEntry, countingLogs, storedKvEntry } from "../scripts/worker-bundle.mjs";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
/** `-- --readme`: also write the tables into docs/benchmarks.md between the bench markers (full runs only). */
const writeReadme = process.argv.includes("--readme");
/** Even: as many rounds in each order (the order reverses every round). */
const ROUNDS = quick ? 1 : 6;
const SECONDS = quick ? 2 : 4;
/** Batch scenarios (failover, one connection) need fewer requests for a steady p50: half the time. */
const BATCH_SECONDS = SECONDS / 2;
const STREAM_TRANSFERS = quick ? 1 : 2;
/** Unmeasured load before each measured one, on the same URL (fresh workers start with cold code). */
const WARMUP_SECONDS = quick ? 0.5 : 1;
/** The streaming client reads at most this fast (a fast client; slow enough to sample memory every 20 ms). */
const STREAM_READ_BYTES_PER_SECOND = 50 * 1024 * 1024;


/** Workers still running and origins still listening: stopped at the end, or when the bench fails half-way. */
const running = new Set();
let origins = [];

/**
 * Starts one worker and finds its workerd process (Miniflare starts one per instance); `logCounts`
 * carries a tally over; `moreEnv` joins the definition's env.
 */
async function startTracked(name, { script, env }, logCounts = {}, moreEnv = {}) {
  const worker = await startWithPid(name, script, { ...env, ...moreEnv }, { handleStructuredLogs: countingLogs(logCounts) });
  running.add(worker.mf);
  return { ...worker, logs: logCounts, stop: () => running.delete(worker.mf) && worker.mf.dispose() };
}

/** Starts a worker that reads Outpost's stored entry (definition.entry, scenarios.mjs), with the entry in its KV. */
async function startEntryReader(name, definition, logCounts, entry) {
  const worker = await startTracked(name, definition, logCounts, definition.entry.env?.(entry));
  await copyKvEntry(worker.mf, entry, { key: definition.entry.key(entry, worker.url), lasting: definition.entry.lasting });
  return worker;
}

/** Scenarios in order, the members of a `group` (listed next to each other) together. */
function groupsOf(scenarios) {
  const groups = [];
  for (const scenario of scenarios) {
    const last = groups.at(-1);
    if (scenario.group && last?.[0].group === scenario.group) last.push(scenario);
    else groups.push([scenario]);
  }
  return groups;
}

/** The scenario's kind of load for `seconds`: batches over its connections, or autocannon. */
function loadFor(scenario, url, seconds) {
  if (scenario.batch) return loadInBatches(url, { seconds, batch: scenario.batch, connections: scenario.connections, between: scenario.between });
  return load(url, { seconds, unique: scenario.unique });
}

/**
 * One round of a group of scenarios (one alone, or the members of a `group`, whose loads alternate);
 * a scenario that cannot run (a failed breaker reset, a lost origin) is a problem, not a crash.
 */
async function runScenarios(group, round, context) {
  const failed = (error) => ({ problem: `failed: ${error.message}` });
  if (group.length === 1) return [await measureScenario(group[0], round, context).catch(failed)];
  const prepared = [];
  for (const scenario of group) prepared.push(await prepareScenario(scenario, round, context).catch(failed));
  const loading = group.flatMap((_, index) => (prepared[index].problem ? [] : [index]));
  const targets = loading.map((index) => ({ url: prepared[index].url, pid: context.workers[group[index].worker].pid }));
  const loads = await loadAlternating(targets, { seconds: SECONDS }).catch((error) => targets.map(() => failed(error)));
  return group.map((scenario, index) => {
    const load = loads[loading.indexOf(index)];
    if (!load || load.problem) return load ?? prepared[index];
    return checkSample(scenario, load, prepared[index], context);
  });
}

async function measureScenario(scenario, round, context) {
  const prepared = await prepareScenario(scenario, round, context);
  if (prepared.problem) return prepared;
  const { pid } = context.workers[scenario.worker];
  const cpuBefore = cpuMs(pid);
  const sample = await loadFor(scenario, prepared.url, scenario.batch ? BATCH_SECONDS : SECONDS);
  // workerd's CPU per answered request (background work included): steadier than req/s on a busy machine.
  sample.cpuMsPerRequest = Math.round(((cpuMs(pid) - cpuBefore) / sample.requests) * 1000) / 1000;
  return checkSample(scenario, sample, prepared, context);
}

/** Warms the scenario's worker up and probes it; returns where to load, or the problem the probe found. */
async function prepareScenario(scenario, round, { workers, origin, resetting }) {
  const url = `${workers[scenario.worker].url}${scenario.path}`;
  await scenario.before?.();
  for (let i = 0; i < (scenario.warm ?? 0); i += 1) {
    await request(url.replace("[<id>]", "warm"));
    if (scenario.origin === "none" || scenario.origin === "refreshes") await sleep(100); // stores and refreshes happen in waitUntil
  }
  await loadFor(scenario, url, WARMUP_SECONDS);
  await sleep(200); // requests the warm-up cut off finish before the origin's counter is read
  const probe = await request(url.replace("[<id>]", `probe-${round}-${Date.now()}`));
  const probeHeaders = { cacheStatus: probe.headers["cache-status"], upstream: probe.headers["outpost-upstream"], cfCacheStatus: probe.headers["cf-cache-status"] };
  const problem = probe.status !== 200 ? `probe answered ${probe.status}` : scenario.probe?.(probe);
  if (problem) return { problem, probe: probeHeaders };
  return { url, probeHeaders, originBefore: scenario.segment ? origin.hits(scenario.segment) : 0, deadBefore: resetting.connections() };
}

/** What the origin saw during the load, checked against what the scenario claims. */
function checkSample(scenario, sample, { probeHeaders, originBefore, deadBefore }, { origin, resetting, counters }) {
  sample.originRequests = scenario.segment ? origin.hits(scenario.segment) - originBefore : undefined;
  sample.probe = probeHeaders;
  if (scenario.countsDeadOrigin) {
    counters.deadAttempts += resetting.connections() - deadBefore;
    counters.openRequests += sample.requests;
  }
  // The origin must have seen exactly what the scenario claims (in-flight requests cut by the end of
  // a timed run reached the origin but were not counted by the load generator).
  const seen = sample.originRequests;
  if (scenario.origin === "none" && seen !== 0) sample.problem = `the origin received ${seen} requests during a hit scenario`;
  if (scenario.origin === "each" && (seen < sample.requests || seen > sample.requests + (scenario.connections ?? CONNECTIONS))) {
    sample.problem = `the origin received ${seen} requests for ${sample.requests} answered`;
  }
  if (sample.errors > 0) sample.problem = `${sample.errors} errors or non-2xx answers`;
  return sample;
}

/** COLLAPSE_REQUESTS concurrent requests for one new key behind a slow origin: how many reach it. */
async function runCollapse(round, { workers, origin }) {
  const path = `/slow/collapse?key=${round}-${Date.now()}`;
  const responses = await burst(`${workers["outpost-misses"].url}${path}`, COLLAPSE_REQUESTS);
  const statuses = {};
  for (const r of responses) {
    const status = `${r.status} ${r.headers["cache-status"]}`.replace(/ttl=\d+/, "ttl=N");
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  return { originRequests: origin.hitsFor(path), statuses, p50Ms: median(responses.map((r) => r.ms)), maxMs: Math.max(...responses.map((r) => r.ms)) };
}

/**
 * A fresh worker (a new isolate, as in another location or after an eviction) whose KV holds what
 * `filler` stored, keys moved to the new worker's host: its isolate has never seen them.
 */
async function withEntriesOf(filler, name, definition) {
  const fromKv = await filler.mf.getKVNamespace("OUTPOST_CACHE");
  const { keys } = await fromKv.list({ prefix: "outpost:" });
  const entries = await Promise.all(keys.map(async ({ name: key }) => ({ key, ...(await fromKv.getWithMetadata(key, "arrayBuffer")) })));
  await filler.stop();
  const worker = await startTracked(name, definition);
  const toKv = await worker.mf.getKVNamespace("OUTPOST_CACHE");
  const [fromHost, toHost] = [new URL(filler.url).host, new URL(worker.url).host];
  for (const { key, value, metadata } of entries) await toKv.put(key.replace(fromHost, toHost), value, metadata ? { metadata } : {});
  return worker;
}

async function runStreams(outpostScript, origin) {
  const results = [];
  for (const variant of streamVariants(outpostScript, origin)) {
    let worker = await startTracked(`stream-${results.length}`, variant.worker);
    if (variant.hit) {
      await request(`${worker.url}${variant.path}`); // the miss that stores the object (in waitUntil)
      await sleep(1_000);
      if (variant.hit === "cold") worker = await withEntriesOf(worker, `stream-${results.length}-cold`, variant.worker);
    }
    if (!worker.pid) {
      await worker.stop();
      results.push({ variant, result: { growthBytes: Number.NaN, growthRatio: Number.NaN, transfers: 0, problem: "workerd process not found (needs Linux and /proc)" } });
      continue;
    }
    pinCores([worker.pid]);
    await request(`${worker.url}/warm`);
    const transfers = [];
    for (let i = 0; i < STREAM_TRANSFERS; i += 1) {
      const url = variant.hit ? `${worker.url}${variant.path}` : `${worker.url}${variant.path}?transfer=${i}`;
      const together = await Promise.all(Array.from({ length: variant.concurrent ?? 1 }, () => streamWithMemory(url, worker.pid, { bytesPerSecond: STREAM_READ_BYTES_PER_SECOND })));
      const problems = together.map((transfer) => {
        if (transfer.status !== 200 || transfer.bytes !== LARGE_OBJECT_BYTES) return `answered ${transfer.status} with ${transfer.bytes} bytes`;
        if (!variant.expect.test(transfer.cacheStatus ?? "")) return `Cache-Status is "${transfer.cacheStatus}", expected ${variant.expect}`;
        return undefined;
      });
      // Every sampler watched the same process: the largest growth any of them saw is the peak of all.
      transfers.push({ ...together[0], growthBytes: Math.max(...together.map((t) => t.growthBytes)), concurrent: together.length, problem: problems.find(Boolean) });
    }
    await worker.stop();
    const growthBytes = Math.max(...transfers.map((t) => t.growthBytes));
    results.push({ variant, result: { growthBytes, growthRatio: growthBytes / LARGE_OBJECT_BYTES, transfers: transfers.length, problem: transfers.find((t) => t.problem)?.problem, details: transfers } });
  }
  return results;
}

async function main() {
  const startedAt = Date.now();
  console.log(`bench: building; ${ROUNDS} round(s) of ${SECONDS} s per scenario, ${CONNECTIONS} connections`);
  const outpostScript = bundleWorker("bench-build");
  const origin = await startOrigin();
  const refusing = await startRefusingOrigin();
  const resetting = await startResettingOrigin();
  origins = [origin, resetting];
  const definitions = await workerDefinitions(projectRoot, outpostScript, { origin, refusing, resetting });
  const logs = Object.fromEntries(Object.keys(definitions).map((name) => [name, {}]));
  let workers = {};
  let pinning = "";
  const scenarios = loadScenarios({ refusing, urlOf: (name) => workers[name].url });
  const samples = Object.fromEntries(scenarios.map((s) => [s.name, []]));
  const counters = { deadAttempts: 0, openRequests: 0 };
  const collapse = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    workers = {};
    for (const [name, definition] of Object.entries(definitions)) if (!definition.entry) workers[name] = await startTracked(name, definition, logs[name]);
    await request(`${workers["outpost-kv"].url}/object`); // a miss stores the entry the bare KV worker reads
    const entry = await storedKvEntry(workers["outpost-kv"].mf);
    for (const [name, definition] of Object.entries(definitions)) if (definition.entry) workers[name] = await startEntryReader(name, definition, logs[name], entry);
    pinning = pinCores(Object.values(workers).map((w) => w.pid));
    if (round === 0) console.log(`bench: ${pinning}`);
    const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
    for (const group of groupsOf(order)) {
      const results = await runScenarios(group, round, { workers, origin, resetting, counters });
      group.forEach((scenario, index) => samples[scenario.name].push(results[index]));
    }
    collapse.push(await runCollapse(round, { workers, origin }));
    for (const worker of Object.values(workers)) await worker.stop();
    console.log(`bench: round ${round + 1}/${ROUNDS} done (${Math.round((Date.now() - startedAt) / 1000)} s)`);
  }
  console.log("bench: safety counts (collapsing with Range / no-store, a stalled fill)");
  const safety = await runSafety(outpostScript);
  console.log("bench: streaming 20 MiB objects");
  const streams = await runStreams(outpostScript, origin);
  console.log("bench: memory budgets (concurrent large misses, large headers)");
  const memory = await runMemory({ script: outpostScript, startTracked });

  // ---- summary ----
  const problems = [];
  const measured = (name) => samples[name].filter((s) => !s.problem);
  for (const [name, list] of Object.entries(samples)) for (const [round, s] of list.entries()) if (s.problem) problems.push(`${name}, round ${round + 1}: ${s.problem}`);
  for (const { variant, result } of streams) if (result.problem) problems.push(`${variant.name}: ${result.problem}`);
  for (const m of memory) if (m.problem) problems.push(`${m.name}: ${m.problem}`);
  const summary = Object.fromEntries(
    scenarios.map(({ name }) => {
      const ok = measured(name);
      const pick = (key) => median(ok.map((s) => s[key]));
      return [name, ok.length === 0 ? undefined : { requestsPerSecond: pick("requestsPerSecond"), cpuMsPerRequest: pick("cpuMsPerRequest"), p50Ms: pick("p50Ms"), p90Ms: pick("p90Ms"), p99Ms: pick("p99Ms"), errors: ok.reduce((n, s) => n + s.errors, 0), originRequests: ok.reduce((n, s) => n + (s.originRequests ?? 0), 0), probe: samples[name][0].probe }];
    }),
  );
  // Paired by round (both sides measured within a minute of each other): this machine drifts during a run.
  const paired = (name, baseline, fn) => median(samples[name].flatMap((s, round) => (s.problem || samples[baseline][round].problem ? [] : [fn(s, samples[baseline][round])])));
  const ctx = { summary, paired, counters, collapse, safety };
  const rows = [...measurements(), ...streams.map(({ variant, result }) => streamMeasurement(variant, result)), ...memoryMeasurements(memory)].map((m) => {
    const v = m.value(ctx);
    const valid = Number.isFinite(v.number);
    const met = !valid ? "INVALID" : m.met ? (m.met(v.number) ? "yes" : m.strict ? "MISSED" : "no") : "-";
    return { measurement: m.name, baseline: v.baseline, value: v.value, figure: v.figure, target: m.target ?? "(reported)", met };
  });

  console.log("\n| scenario | req/s | p50 ms | p99 ms | workerd CPU ms/req | errors | origin requests | probe |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const { name } of scenarios) {
    const s = summary[name];
    const probe = samples[name][0].probe;
    const probeText = [probe?.cacheStatus, probe?.upstream?.replace(/.*(origin=.*)/, "$1"), probe?.cfCacheStatus && `cf-cache-status: ${probe.cfCacheStatus}`].filter(Boolean).join("; ");
    console.log(s ? `| ${name} | ${Math.round(s.requestsPerSecond)} | ${s.p50Ms.toFixed(2)} | ${s.p99Ms.toFixed(1)} | ${s.cpuMsPerRequest.toFixed(2)} | ${s.errors} | ${s.originRequests} | ${probeText} |` : `| ${name} | INVALID | | | | | | ${probeText} |`);
  }
  console.log("\n| measurement | baseline | value | figure | target | met |");
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.measurement} | ${r.baseline} | ${r.value} | ${r.figure} | ${r.target} | ${r.met} |`);
  for (const c of collapse) console.log(`collapsing round: ${c.originRequests} origin request(s); answers: ${Object.entries(c.statuses).map(([k, n]) => `${n}x "${k}"`).join(", ")}`);
  for (const [name, counts] of Object.entries(logs)) if (Object.keys(counts).length) console.log(`logs ${name}: ${Object.entries(counts).map(([k, n]) => `${n}x ${k}`).join(", ")}`);
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  if (quick) console.log("(--quick: 1 round of 2 s; ratios from one round are noisy)");

  mkdirSync(join(projectRoot, "bench", "results"), { recursive: true });
  const pkg = (...path) => JSON.parse(readFileSync(join(projectRoot, "node_modules", ...path, "package.json"), "utf8")).version;
  const workerdVersion = existsSync(join(projectRoot, "node_modules/miniflare/node_modules/workerd")) ? pkg("miniflare/node_modules/workerd") : pkg("workerd");
  const result = {
    date: new Date().toISOString(),
    quick,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` },
    versions: { miniflare: pkg("miniflare"), workerd: workerdVersion, autocannon: pkg("autocannon"), hono: pkg("hono"), wrangler: pkg("wrangler") },
    pinning,
    rounds: ROUNDS,
    durationSeconds: SECONDS,
    batchSeconds: BATCH_SECONDS,
    connections: CONNECTIONS,
    elapsedSeconds: Math.round((Date.now() - startedAt) / 1000),
    measurements: rows,
    problems,
    summary,
    samples,
    counters,
    collapse,
    safety,
    streams: streams.map(({ variant, result: r }) => ({ name: variant.name, path: variant.path, readBytesPerSecond: STREAM_READ_BYTES_PER_SECOND, ...r })),
    memory,
    logs,
  };
  writeFileSync(join(projectRoot, "bench", "results", "latest.json"), `${JSON.stringify(result, null, 2)}\n`);
  if (writeReadme && !quick) updateReadme(scenarios, summary, rows, result);
  console.log(`bench: ${result.elapsedSeconds} s; results in bench/results/latest.json`);
  if (problems.length > 0 || rows.some((r) => r.met === "MISSED" || r.met === "INVALID")) process.exitCode = 1;
}

const README_START = "<!-- bench:start (written by npm run bench -- --readme) -->";
const README_END = "<!-- bench:end -->";

/** Replaces docs/benchmarks.md's block between the bench markers with this run's two tables. */
function updateReadme(scenarios, summary, rows, result) {
  const readmePath = join(projectRoot, "docs", "benchmarks.md");
  const readme = readFileSync(readmePath, "utf8");
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start === -1 || end < start) {
    console.log("bench: docs/benchmarks.md has no bench markers; not updated");
    return;
  }
  const lines = [
    README_START,
    `Run ${result.date.slice(0, 10)}, ${result.rounds} rounds of ${result.durationSeconds} s, ${result.machine.cpus} cores (${result.machine.cpu}), workerd ${result.versions.workerd}.`,
    "",
    "| scenario | req/s | p50 ms | workerd CPU ms/req |",
    "|---|---|---|---|",
    ...scenarios.filter(({ name }) => summary[name]).map(({ name }) => {
      const s = summary[name];
      return `| ${name} | ${Math.round(s.requestsPerSecond)} | ${s.p50Ms.toFixed(2)} | ${s.cpuMsPerRequest.toFixed(2)} |`;
    }),
    "",
    "| measurement | figure | target | met |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.measurement} | ${r.figure} | ${r.target} | ${r.met} |`),
  ];
  writeFileSync(readmePath, `${readme.slice(0, start)}${lines.join("\n")}\n${readme.slice(end)}`);
  console.log("bench: docs/benchmarks.md tables updated");
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const mf of running) await mf.dispose().catch(() => {});
    for (const server of origins) await server.close?.();
  });

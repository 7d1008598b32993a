// Memory budgets under hostile traffic, for `npm run bench`: each scenario on a fresh Outpost worker
// (its own workerd process), with workerd's resident memory sampled from /proc while it runs and
// Outpost's own counts read from the admin status (cache.fill_budget, cache.memory_tier).
//   1. 16 concurrent cache-busting misses of an 8 MB object, three times: passed through (route cache
//      off: what the runtime itself needs to stream 16 answers), with tiers [memory, kv] (the fills
//      read and hold the objects; default admission writes nothing for a key's first request), and
//      with every tier (the local Cache API keeps its copies inside the same workerd process, which a
//      production isolate does not). RSS growth beyond the pass-through is set against the fill budget
//      (src/cache/fill-budget.ts), whose own high-water mark must stay within it.
//   2. 4,000 misses whose answers carry 64 KB (then 16 KB) of headers: the hot tier's counted bytes
//      against its configured bytes (src/cache/memory-tier.ts); RSS growth reported.
// Growth is the peak from the load's start on minus the lowest sample of the 300 ms before. RSS also
// holds garbage the GC has not collected yet: it is context, the counted bytes are the hard figures.
import { Agent, createServer, get } from "node:http";
import { outpostEnv } from "../../scripts/worker-bundle.mjs";
import { pinCores, sleep, startSampler } from "./measure.mjs";

const MiB = 2 ** 20;
const OBJECT_BYTES = 8_000_000;
const CONCURRENT_MISSES = 16;
const HEADER_ENTRIES = 4_000;
const HEADER_CONNECTIONS = 10;
/** The admin status (which reports the budgets: fill_budget.max_bytes, memory_tier.max_bytes) needs a token. */
const ADMIN_TOKEN = "bench-memory-token";

/** The origin: /object/* answers OBJECT_BYTES with a Content-Length; /headers/<bytes>/* a small body with an x-large header of <bytes>. */
async function startMemoryOrigin() {
  const object = Buffer.alloc(OBJECT_BYTES, "m");
  const server = createServer((req, res) => {
    const [, kind, size] = req.url.split(/[/?]/);
    if (kind === "object") {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": OBJECT_BYTES, "cache-control": "public, max-age=3600" });
      let offset = 0;
      const writeMore = () => {
        while (offset < OBJECT_BYTES) {
          const end = Math.min(offset + 65_536, OBJECT_BYTES);
          const ok = res.write(object.subarray(offset, end));
          offset = end;
          if (!ok) return void res.once("drain", writeMore);
        }
        res.end();
      };
      return writeMore();
    }
    const headers = { "content-type": "text/plain", "cache-control": "public, max-age=3600" };
    if (kind === "headers") headers["x-large"] = "h".repeat(Number(size));
    res.writeHead(200, headers);
    res.end("small");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  };
}

/** One GET read to its end; large response headers allowed (Node's default limit is 16 KB). */
function fetchAll(url, agent) {
  return new Promise((resolve, reject) => {
    get(url, { agent, maxHeaderSize: 256 * 1024 }, (res) => {
      let bytes = 0;
      res.on("data", (chunk) => (bytes += chunk.length));
      res.on("end", () => resolve({ status: res.statusCode, cacheStatus: res.headers["cache-status"] ?? "", bytes }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

async function adminStatus(workerUrl) {
  const response = await fetch(`${workerUrl}/__outpost/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (!response.ok) throw new Error(`admin status answered ${response.status}`);
  return (await response.json()).cache;
}

/** Runs `fn` while sampling the worker's RSS; returns its result with baseline, peak and growth. */
async function withRss(pid, fn) {
  const sampler = startSampler(pid, 20);
  await sleep(300);
  const result = await fn();
  await sleep(300);
  const samples = await sampler.stop();
  const baselineKiB = Math.min(...samples.filter(([t]) => t < 300).map(([, kib]) => kib));
  const peakKiB = Math.max(...samples.filter(([t]) => t >= 300).map(([, kib]) => kib));
  return { ...result, baselineBytes: baselineKiB * 1024, peakBytes: peakKiB * 1024, growthBytes: (peakKiB - baselineKiB) * 1024, afterBytes: samples.at(-1)[1] * 1024 };
}

const tally = (answers) => {
  const counts = {};
  for (const { cacheStatus } of answers) {
    const kind = /detail=fill-budget/.test(cacheStatus) ? "fill-budget" : /stored/.test(cacheStatus) ? "stored" : cacheStatus.replace(/ttl=\d+/, "ttl=N");
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
};

async function concurrentLargeMisses(worker) {
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  try {
    const run = Date.now();
    const answers = await Promise.all(Array.from({ length: CONCURRENT_MISSES }, (_, i) => fetchAll(`${worker.url}/object/8mb?bust=${run}-${i}`, agent)));
    const wrong = answers.find((a) => a.status !== 200 || a.bytes !== OBJECT_BYTES);
    return { answers: tally(answers), problem: wrong && `answered ${wrong.status} with ${wrong.bytes} bytes` };
  } finally {
    agent.destroy();
  }
}

async function manyHeaderEntries(worker, headerBytes) {
  const agent = new Agent({ keepAlive: true, maxSockets: HEADER_CONNECTIONS });
  let next = 0;
  let failed = 0;
  const startedAt = performance.now();
  try {
    const connection = async () => {
      while (next < HEADER_ENTRIES) {
        const i = next++;
        const answer = await fetchAll(`${worker.url}/headers/${headerBytes}/${i}?bust=${i}`, agent);
        if (answer.status !== 200) failed += 1;
      }
    };
    await Promise.all(Array.from({ length: HEADER_CONNECTIONS }, connection));
  } finally {
    agent.destroy();
  }
  return { seconds: (performance.now() - startedAt) / 1000, problem: failed ? `${failed} of ${HEADER_ENTRIES} requests failed` : undefined };
}

/**
 * The memory scenarios; `startTracked(name, { script, env })` starts a worker as run.mjs does (with
 * `pid`, `url`, `stop`). Returns one result per scenario.
 */
export async function runMemory({ script, startTracked }) {
  const origin = await startMemoryOrigin();
  const base = (cache_tiers, cache = {}) => ({
    ...outpostEnv({ cache_tiers, pools: [{ name: "origin", origins: [{ name: "origin", address: origin.url }] }], routes: [{ name: "memory", default_pools: ["origin"], cache }] }),
    OUTPOST_ADMIN_TOKEN: { type: "text", value: ADMIN_TOKEN },
  });
  const results = [];
  const burst = `${CONCURRENT_MISSES} concurrent cache-busting misses of an 8 MB object`;
  const scenarios = [
    { name: `${burst}, passed through (route cache off)`, kind: "pass", env: base(["memory", "colo", "kv"], { enabled: false }), run: concurrentLargeMisses },
    { name: `${burst}, tiers [memory, kv]`, kind: "fills", env: base(["memory", "kv"]), run: concurrentLargeMisses },
    { name: `${burst}, every tier (local Cache API in-process)`, kind: "fills", env: base(["memory", "colo", "kv"]), run: concurrentLargeMisses },
    { name: `${HEADER_ENTRIES} misses with 64 KB of headers (tiers [memory])`, kind: "hot", env: base(["memory"]), run: (worker) => manyHeaderEntries(worker, 64 * 1024) },
    { name: `${HEADER_ENTRIES} misses with 16 KB of headers (tiers [memory])`, kind: "hot", env: base(["memory"]), run: (worker) => manyHeaderEntries(worker, 16 * 1024) },
  ];
  try {
    for (const [index, scenario] of scenarios.entries()) {
      const worker = await startTracked(`memory-${index}`, { script, env: scenario.env });
      try {
        if (!worker.pid) {
          results.push({ name: scenario.name, kind: scenario.kind, problem: "workerd process not found (needs Linux and /proc)" });
          continue;
        }
        pinCores([worker.pid]);
        await fetchAll(`${worker.url}/warm`); // compiles the code paths before the baseline
        await sleep(200);
        const measured = await withRss(worker.pid, () => scenario.run(worker));
        results.push({ name: scenario.name, kind: scenario.kind, ...measured, status: await adminStatus(worker.url) });
      } catch (error) {
        results.push({ name: scenario.name, kind: scenario.kind, problem: `failed: ${error.message}` });
      } finally {
        await worker.stop();
      }
    }
  } finally {
    await origin.close();
  }
  return results;
}

const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Rows for run.mjs's measurement table (its `measurements()` shape). */
export function memoryMeasurements(results) {
  const passed = results.find((r) => r.kind === "pass" && !r.problem);
  return results.flatMap((result) => {
    if (result.problem || !result.status) return [{ name: result.name, value: () => ({ value: result.problem ?? "no status", baseline: "", figure: "", number: Number.NaN }) }];
    const rss = `workerd RSS ${mib(result.baselineBytes)} -> peak ${mib(result.peakBytes)}`;
    if (result.kind === "pass") {
      return [{ name: `${result.name}: workerd RSS growth`, value: () => ({ value: `+${mib(result.growthBytes)} (${rss}); answers ${JSON.stringify(result.answers)}`, baseline: "", figure: mib(result.growthBytes), number: result.growthBytes }) }];
    }
    if (result.kind === "fills") {
      const budget = result.status.fill_budget;
      const beyond = result.growthBytes - (passed?.growthBytes ?? Number.NaN);
      // Only the row without the in-process Cache API has a target: the local Cache API's copies are not the isolate's.
      const targeted = !/every tier/.test(result.name);
      return [
        {
          name: `${result.name}: workerd RSS growth beyond the pass-through, vs the fill budget`,
          target: targeted ? "< 1.5x budget" : undefined,
          met: targeted ? (x) => x < 1.5 : undefined,
          value: () => ({ value: `+${mib(result.growthBytes)} (${rss}), pass-through +${mib(passed?.growthBytes ?? Number.NaN)}; answers ${JSON.stringify(result.answers)}`, baseline: `fill budget ${mib(budget.max_bytes)}`, figure: `${(beyond / budget.max_bytes).toFixed(2)}x budget`, number: beyond / budget.max_bytes }),
        },
        {
          name: `${result.name}: fill budget high-water mark`,
          target: "<= 1x budget",
          met: (x) => x <= 1,
          strict: true,
          value: () => ({ value: `peak ${mib(budget.peak_bytes)} held by fills`, baseline: `fill budget ${mib(budget.max_bytes)}`, figure: `${(budget.peak_bytes / budget.max_bytes).toFixed(2)}x budget`, number: budget.peak_bytes / budget.max_bytes }),
        },
      ];
    }
    const hot = result.status.memory_tier;
    return [
      {
        name: `${result.name}: hot tier bytes vs its configured bytes`,
        target: "<= 1x",
        met: (x) => x <= 1,
        strict: true,
        value: () => ({ value: `${hot.entries} entries, ${mib(hot.bytes)} counted; RSS +${mib(result.growthBytes)} (${rss}), ${result.seconds.toFixed(1)} s`, baseline: `hot tier ${mib(hot.max_bytes)}`, figure: `${(hot.bytes / hot.max_bytes).toFixed(2)}x`, number: hot.bytes / hot.max_bytes }),
      },
    ];
  });
}

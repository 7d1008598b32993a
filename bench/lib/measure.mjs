// How `npm run bench` measures: load with autocannon (keeping every request's latency, so p50s have
// sub-millisecond resolution), load in fixed-size batches, bursts of concurrent requests, and the
// resident memory of workerd processes sampled from /proc while a large body streams through.
import autocannon from "autocannon";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, get } from "node:http";
import { Worker } from "node:worker_threads";
import { startWorker } from "../../scripts/worker-bundle.mjs";

export const CONNECTIONS = 10;

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round2 = (x) => Math.round(x * 100) / 100;

function summarise(latencies, { requests, seconds, errors }) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests,
    requestsPerSecond: Math.round(requests / seconds),
    p50Ms: round2(percentile(sorted, 50)),
    p90Ms: round2(percentile(sorted, 90)),
    p99Ms: round2(percentile(sorted, 99)),
    errors,
  };
}

/**
 * Load for `seconds` with autocannon over CONNECTIONS connections; `[<id>]` in the URL becomes a
 * unique id per request when `unique` is set (every request a different URL).
 */
export async function load(url, { seconds, unique = false }) {
  const latencies = [];
  const instance = autocannon({ url, connections: CONNECTIONS, duration: seconds, idReplacement: unique });
  instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  const startedAt = performance.now();
  const result = await instance;
  return summarise(latencies, { requests: result.requests.total, seconds: (performance.now() - startedAt) / 1000, errors: result.errors + result.timeouts + result.non2xx });
}

/**
 * Load as back-to-back batches of `batch` requests over `connections` keep-alive connections until
 * `seconds` of load have passed; `between()` runs after every batch, outside the measured time.
 * (Node's own client: autocannon's `amount` mode idles up to a second at the end of every run.)
 */
export async function loadInBatches(url, { seconds, batch, connections, between }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  let requests = 0;
  let errors = 0;
  let loadSeconds = 0;
  try {
    while (loadSeconds < seconds) {
      let remaining = batch;
      const startedAt = performance.now();
      const connection = async () => {
        while (remaining > 0) {
          remaining -= 1;
          const response = await request(url, { agent });
          latencies.push(response.ms);
          if (response.status !== 200) errors += 1;
        }
      };
      await Promise.all(Array.from({ length: connections }, connection));
      loadSeconds += (performance.now() - startedAt) / 1000;
      requests += batch;
      if (between) await between();
    }
  } finally {
    agent.destroy();
  }
  return summarise(latencies, { requests, seconds: loadSeconds, errors });
}

/**
 * Loads several targets ({ url, pid }) in turn, `sliceMs` each (A B C A B C ...), until each has had
 * `seconds` of load, over `connections` keep-alive connections per target; a slice ends when its last
 * request does. Targets measured one after the other drift apart with the machine (a bare worker and
 * Outpost moved by up to ±15% against each other between 4 s loads); in short turns they share its
 * state. Returns one summary per target, with workerd's CPU per request counted slice by slice (two
 * targets may share a worker).
 */
export async function loadAlternating(targets, { seconds, sliceMs = 200, connections = CONNECTIONS }) {
  const sides = targets.map(() => ({ agent: new Agent({ keepAlive: true, maxSockets: connections }), latencies: [], requests: 0, errors: 0, ms: 0, cpuMs: 0 }));
  try {
    for (let loaded = 0; loaded < seconds * 1000; loaded += sliceMs) {
      for (const [index, { url, pid }] of targets.entries()) {
        const side = sides[index];
        const cpuBefore = cpuMs(pid);
        const startedAt = performance.now();
        const deadline = startedAt + sliceMs;
        const connection = async () => {
          while (performance.now() < deadline) {
            const response = await request(url, { agent: side.agent });
            side.latencies.push(response.ms);
            side.requests += 1;
            if (response.status !== 200) side.errors += 1;
          }
        };
        await Promise.all(Array.from({ length: connections }, connection));
        side.ms += performance.now() - startedAt;
        side.cpuMs += cpuMs(pid) - cpuBefore;
      }
    }
  } finally {
    for (const side of sides) side.agent.destroy();
  }
  return sides.map((side) => ({
    ...summarise(side.latencies, { requests: side.requests, seconds: side.ms / 1000, errors: side.errors }),
    cpuMsPerRequest: Math.round((side.cpuMs / side.requests) * 1000) / 1000,
  }));
}

/** One GET; resolves with status, headers and time to the end of the body. */
export function request(url, { agent } = {}) {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    get(url, { agent }, (res) => {
      let bytes = 0;
      res.on("data", (chunk) => (bytes += chunk.length));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, bytes, ms: performance.now() - startedAt }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

/** `count` GETs of one URL at the same moment, each on its own connection. */
export async function burst(url, count) {
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  try {
    return await Promise.all(Array.from({ length: count }, () => request(url, { agent })));
  } finally {
    agent.destroy();
  }
}

// ---- workerd processes: which are ours, pinning, memory ----

/** PIDs of the workerd processes this process started (Miniflare runs one per instance). */
export function workerdPids() {
  try {
    return execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter(([pid, command]) => pid && command?.startsWith("workerd"))
      .map(([pid]) => Number(pid));
  } catch {
    return [];
  }
}

/** A worker started on Miniflare (worker-bundle.mjs), with its workerd process (one per instance). */
export async function startWithPid(name, script, env, options) {
  const before = new Set(workerdPids());
  const worker = await startWorker(name, script, env, options);
  return { ...worker, pid: workerdPids().find((pid) => !before.has(pid)) };
}

/**
 * On Linux with 2+ cores: the given workerd processes on core 1, this process (load generator and
 * origins) on core 0, so the load generator does not steal the workers' CPU. Noise drops a lot.
 */
export function pinCores(pids) {
  try {
    for (const pid of pids) execFileSync("taskset", ["-acp", "1", String(pid)], { stdio: "ignore" });
    execFileSync("taskset", ["-acp", "0", String(process.pid)], { stdio: "ignore" });
    return `workerd (${pids.length} processes) on core 1, load generator and origins on core 0`;
  } catch {
    return "not pinned (needs Linux, taskset and 2 cores)";
  }
}

let ticksPerSecond;
/**
 * CPU time (user + system, all threads) the process has used, in ms, from /proc/<pid>/stat. On a
 * shared machine this is steadier than req/s: other people's load slows a worker down but hardly
 * changes the CPU it spends per request.
 */
export function cpuMs(pid) {
  try {
    ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    // Fields after the command name (which is in parentheses and may contain spaces): utime is the 12th, stime the 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

// Sampling runs on its own thread: the main thread is busy reading the body and serving the origin.
const SAMPLER = `
const { parentPort, workerData } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
const samples = [];
const startedAt = performance.now();
const sample = () => {
  const m = /VmRSS:\\s+(\\d+) kB/.exec(readFileSync("/proc/" + workerData.pid + "/status", "utf8"));
  samples.push([Math.round(performance.now() - startedAt), m ? Number(m[1]) : null]);
};
sample();
const timer = setInterval(sample, workerData.intervalMs);
parentPort.on("message", () => { clearInterval(timer); sample(); parentPort.postMessage(samples); });
`;

/** Samples a process's RSS every `intervalMs` on its own thread; `stop()` resolves with [ms, KiB] pairs. */
export function startSampler(pid, intervalMs) {
  const worker = new Worker(SAMPLER, { eval: true, workerData: { pid, intervalMs } });
  return {
    stop: () =>
      new Promise((resolve) => {
        worker.once("message", (samples) => {
          void worker.terminate();
          resolve(samples);
        });
        worker.postMessage("stop");
      }),
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** GETs `url` reading the body at most `bytesPerSecond` (pausing the socket: real backpressure). */
function slowRead(url, bytesPerSecond) {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    get(url, (res) => {
      let bytes = 0;
      res.on("data", (chunk) => {
        bytes += chunk.length;
        const aheadMs = (bytes / bytesPerSecond) * 1000 - (performance.now() - startedAt);
        if (aheadMs > 5) {
          res.pause();
          setTimeout(() => res.resume(), aheadMs);
        }
      });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, bytes, ms: performance.now() - startedAt }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

/**
 * Resident memory of one workerd process while `url` streams to a client reading at
 * `bytesPerSecond`: sampled every `intervalMs`; growth is the peak from the transfer's start on minus
 * the lowest sample of the 300 ms before. (RSS can still be falling then, as memory from an earlier
 * request is returned: a peak over the whole window once counted 17 MiB that were being freed.)
 */
export async function streamWithMemory(url, pid, { bytesPerSecond, intervalMs = 20 }) {
  const sampler = startSampler(pid, intervalMs);
  await sleep(300);
  const response = await slowRead(url, bytesPerSecond);
  await sleep(300);
  const samples = await sampler.stop(); // [ms since the sampler started, KiB]
  const baselineKiB = Math.min(...samples.filter(([t]) => t < 300).map(([, kib]) => kib));
  const peakKiB = Math.max(...samples.filter(([t]) => t >= 300).map(([, kib]) => kib));
  return {
    status: response.status,
    bytes: response.bytes,
    transferMs: Math.round(response.ms),
    cacheStatus: response.headers["cache-status"],
    baselineKiB,
    peakKiB,
    afterKiB: samples.at(-1)[1],
    growthBytes: (peakKiB - baselineKiB) * 1024,
    rssSamples: samples,
  };
}

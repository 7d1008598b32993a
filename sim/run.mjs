#!/usr/bin/env node
// `npm run sim -- [--scenario world|quick | --quick | --replay FILE] [--locations FRA,IAD,...]
//   [--duration 20m] [--scale 8] [--rate 60] [--tiers memory,colo,kv] [--propagation 60]
//   [--monthly-requests 100000000] [--no-events] [--seed 1] [--coordination]`
// Outpost across N simulated edge locations (docs/simulator.md). Each location is its own Miniflare
// instance (its own workerd process, isolate, Cache API and hot tier) running the production bundle
// with sim/location-worker.ts as the entry, so its OUTPOST_CACHE goes through the shared KV shim
// (sim/kv-shim.mjs: production's read cache, propagation delay and write limits). Origins are real
// local HTTP servers per pool (sim/origins.mjs); traffic is the world mix (sim/traffic.mjs) or a
// replayed log (sim/replay.mjs); scenario events (sim/scenarios.mjs) kill and revive origins, purge
// through the admin API and break KV at one location. Writes sim/results/latest.json and
// latest.html; `--quick` fails (exit 1) on errors, impossible hits or a purge slower than its bound.
// `--coordination` adds the purge coordinator: the real PurgeCoordinator Durable Object in one more
// Miniflare instance (sim/coordinator-worker.ts), shared by every location through a transport shim
// (sim/coordinator-transport.ts), and Outpost's `coordination.purge_coordinator` on.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuMs, startWithPid } from "../bench/lib/measure.mjs";
import { bundleWorker } from "../scripts/worker-bundle.mjs";
import { DEFAULT_PROPAGATION_MS, SimKv } from "./kv-shim.mjs";
import { startKvServer } from "./kv-server.mjs";
import { CONTINENT_POOLS, DEFAULT_LOCATIONS, LOCATIONS, QUICK_LOCATIONS, locationCf } from "./locations.mjs";
import { DEFAULT_POOLS, startOrigins } from "./origins.mjs";
import { readReplay } from "./replay.mjs";
import { checkRun, classifyCacheStatus, countResponse, describeConvergence, describeCoordinatorCalls, emptyLocationStats, finishLocationStats, projectMonthlyCost, renderHtml, sumStats } from "./report.mjs";
import { quickScenario, worldScenario } from "./scenarios.mjs";
import { buildCatalogue, classForPath, generateWorldRequests } from "./traffic.mjs";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const SITE = "https://site.example";
const ADMIN_TOKEN = "sim-admin-token-0123456789abcdef";
/** Outpost's own re-read intervals of the purge ledger (src/purge/purge-state.ts); real time, not scaled. */
const LEDGER_LOCATION_REREAD_MS = 1_000;
const LEDGER_GLOBAL_REREAD_MS = 5_000;
/** The cacheTtl Outpost reads the ledger with (production seconds; the shim scales it). */
const LEDGER_CACHE_TTL_SECONDS = 30;
const BOUND_MARGIN_MS = 2_000;
/** Outpost's coordination.purge_poll_interval_ms in a `--coordination` run (the schema's default; real time, not scaled). */
const COORDINATOR_POLL_INTERVAL_MS = 1_000;
/** The coordinator's bound's margin: the coordinator round trips and a shared machine's scheduling. */
const COORDINATOR_BOUND_MARGIN_MS = 1_000;
/** With the coordinator, probes every 100 ms: convergence is about 1.5 s, so 250-500 ms probes would blur it. */
const COORDINATOR_PROBE_INTERVAL_MS = 100;
/** How long after the last location converged the receipt is read: a location reports a purge on its next poll. */
const RECEIPT_DELAY_MS = 2 * COORDINATOR_POLL_INTERVAL_MS;
const COORDINATOR_NAME = "sim-coordinator";
const MAX_INFLIGHT_PER_LOCATION = 48;
const TIMELINE_BUCKETS = 30;

function parseDuration(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!match) throw new Error(`--duration: "${text}" is not a duration such as 90s, 20m or 1h`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] ?? "s"];
}

export function parseArgs(argv) {
  const options = { scenario: "world", events: true, tiers: ["memory", "colo", "kv"], propagationSeconds: DEFAULT_PROPAGATION_MS / 1000, monthlyRequests: 100_000_000, seed: 1, out: join(projectRoot, "sim/results") };
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    const value = () => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--quick") options.scenario = "quick";
    else if (arg === "--scenario") options.scenario = value();
    else if (arg === "--replay") options.replay = value();
    else if (arg === "--locations") options.locations = value().split(",").map((colo) => colo.trim().toUpperCase());
    else if (arg === "--duration") options.durationSimSeconds = parseDuration(value());
    else if (arg === "--scale") options.scale = Number(value());
    else if (arg === "--rate") options.rate = Number(value());
    else if (arg === "--tiers") options.tiers = value().split(",");
    else if (arg === "--propagation") options.propagationSeconds = parseDuration(value());
    else if (arg === "--monthly-requests") options.monthlyRequests = Number(value());
    else if (arg === "--no-events") options.events = false;
    else if (arg === "--seed") options.seed = Number(value());
    else if (arg === "--out") options.out = value();
    else if (arg === "--check") options.check = true;
    else if (arg === "--coordination") options.coordination = true;
    else throw new Error(`unknown option ${arg}`);
  }
  if (options.scenario === "quick") options.check = true;
  return options;
}

/** Outpost's configuration at every location: geo steering by continent, failover to the other pools. */
function outpostConfig(pools, tiers, scale, coordination) {
  return {
    ...(coordination && { coordination: { purge_coordinator: true, purge_poll_interval_ms: COORDINATOR_POLL_INTERVAL_MS } }),
    cache_tiers: tiers,
    // The breaker's cool-down (30 s by default) is scaled with the run, like the TTLs.
    pools: pools.map((pool) => ({ ...pool, circuit_breaker: { open_seconds: Math.max(1, Math.round(30 / scale)) } })),
    routes: [
      {
        name: "site",
        hosts: ["site.example"],
        path: "/*",
        steering_policy: "geo",
        default_pools: ["us", "eu", "apac"],
        continent_pools: CONTINENT_POOLS,
        same_content: true,
        origin_timeout_ms: 2_000,
        deadline_ms: 6_000,
        cache: { stale_while_revalidate_seconds: Math.max(1, Math.round(60 / scale)), bypass_cookies: ["session"] },
      },
    ],
    observability: { request_log_sample_rate: 0, server_timing: false },
  };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const scenario = options.scenario === "quick" ? quickScenario() : worldScenario();
  if (options.scenario !== "quick" && options.scenario !== "world") throw new Error(`unknown scenario ${options.scenario} (world, quick)`);
  const colos = options.locations ?? (options.scenario === "quick" ? QUICK_LOCATIONS : DEFAULT_LOCATIONS);
  for (const colo of colos) locationCf(colo); // fails early on an unknown code
  const scale = options.scale ?? scenario.scale;
  const durationSimSeconds = options.durationSimSeconds ?? scenario.durationSimSeconds;
  const durationMs = (durationSimSeconds * 1000) / scale;
  const totalRate = options.rate ?? scenario.totalRate;
  const propagationMs = options.propagationSeconds * 1000;
  const catalogue = buildCatalogue(scenario.catalogueSize);
  const longLived = catalogue.filter((path) => classForPath(path).ttlSeconds >= 3_600);
  const probeInterval = options.coordination ? COORDINATOR_PROBE_INTERVAL_MS : colos.length > 4 ? 500 : 250;
  const kvBoundMs = (propagationMs + LEDGER_CACHE_TTL_SECONDS * 1000) / scale + LEDGER_GLOBAL_REREAD_MS + LEDGER_LOCATION_REREAD_MS + BOUND_MARGIN_MS + probeInterval;
  // With the coordinator a purge reaches a location within 1.5 poll intervals (docs/coordination.md).
  const boundMs = options.coordination ? COORDINATOR_POLL_INTERVAL_MS * 1.5 + COORDINATOR_BOUND_MARGIN_MS + probeInterval : kvBoundMs;

  console.log(`sim: ${scenario.name}${options.replay ? ` (replay ${options.replay})` : ""}, ${colos.length} locations (${colos.join(",")}), ${durationSimSeconds} s simulated at scale ${scale} = ${(durationMs / 1000).toFixed(0)} s real, tiers ${options.tiers.join(",")}, KV propagation ${options.propagationSeconds} s, ${options.coordination ? `purge coordinator (poll every ${COORDINATOR_POLL_INTERVAL_MS} ms)` : "KV-only purge ledger"}`);
  console.log("sim: bundling Outpost (wrangler deploy --dry-run --env production, entry sim/location-worker.ts)");
  const script = bundleWorker("sim-location", { entry: "sim/location-worker.ts" });

  const kv = new SimKv({ propagationMs, scale });
  const kvServer = await startKvServer(kv);
  const origins = await startOrigins(DEFAULT_POOLS, { scale });
  const config = outpostConfig(origins.outpostPools(), options.tiers, scale, options.coordination);
  const logCounts = {};
  const locations = {};
  let coordinator;
  const cleanup = async () => {
    await Promise.allSettled([...Object.values(locations), ...(coordinator ? [coordinator] : [])].map((location) => location.mf.dispose()));
    await origins.close();
    await kvServer.close();
  };
  process.once("SIGINT", () => cleanup().finally(() => process.exit(130)));

  try {
    if (options.coordination) {
      console.log("sim: bundling and starting the purge coordinator (sim/coordinator-worker.ts: the real PurgeCoordinator, SQLite storage)");
      coordinator = await startWithPid(
        COORDINATOR_NAME,
        bundleWorker(COORDINATOR_NAME, { entry: "sim/coordinator-worker.ts" }),
        { OUTPOST_PURGE_COORDINATOR: { type: "durable-object", worker: COORDINATOR_NAME, exportName: "PurgeCoordinator" } },
        { workerConfig: { exports: { PurgeCoordinator: { type: "durable-object", storage: "sqlite" } } } },
      );
    }
    console.log("sim: starting locations");
    for (const colo of colos) {
      const logs = (logCounts[colo] = {});
      // Started one after another: startWithPid finds each instance's new workerd process.
      const worker = await startWithPid(
        `sim-${colo}`,
        script,
        {
          OUTPOST: { type: "json", value: config },
          OUTPOST_ADMIN_TOKEN: { type: "text", value: ADMIN_TOKEN },
          SIM_KV: { type: "json", value: { url: kvServer.url, location: colo } },
          ...(coordinator && { SIM_COORDINATOR: { type: "json", value: { url: coordinator.url } } }),
        },
        {
          handleStructuredLogs: (log) => {
            let event = "";
            try {
              event = JSON.parse(log.message).event ?? "";
            } catch {
              event = String(log.message).slice(0, 60);
            }
            const key = `${log.level} ${event}`.trim();
            logs[key] = (logs[key] ?? 0) + 1;
          },
        },
      );
      locations[colo] = { ...worker, cpuAtStart: worker.pid ? cpuMs(worker.pid) : Number.NaN, cf: locationCf(colo), stats: emptyLocationStats(), inflight: 0, expectedPool: CONTINENT_POOLS[LOCATIONS[colo].continent][0] };
    }

    let requests;
    let skipped = 0;
    if (options.replay) {
      ({ requests, skipped } = readReplay(options.replay, { colos, scale }));
    } else {
      const weights = Object.fromEntries(colos.map((colo) => [colo, LOCATIONS[colo].weight]));
      const weightSum = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
      const rates = Object.fromEntries(colos.map((colo) => [colo, (totalRate * weights[colo]) / weightSum]));
      requests = generateWorldRequests({ colos, rates, durationMs, catalogue, seed: options.seed });
    }
    // A replay lasts as long as its log (divided by the scale) unless --duration says otherwise.
    const runMs = options.replay && options.durationSimSeconds === undefined ? (requests.at(-1)?.at ?? 0) + 1 : durationMs;
    const bucketMs = runMs / TIMELINE_BUCKETS;
    const timeline = Object.fromEntries(colos.map((colo) => [colo, { requests: new Array(TIMELINE_BUCKETS).fill(0), hits: new Array(TIMELINE_BUCKETS).fill(0) }]));

    const startedAt = Date.now();
    const simSeconds = () => ((Date.now() - startedAt) * scale) / 1000;
    const eventLog = [];
    /** Every traffic answer, compact: for the figures of an outage's window. */
    const answers = [];
    /** Origin outages: { origin, downAt, upAt } (real ms). */
    const outages = [];
    const purges = [];

    /** One request at a location; `probe` requests are the simulator's own and are not counted as traffic. */
    const send = async (colo, { method = "GET", url, headers = {} }, { probe = false } = {}) => {
      const location = locations[colo];
      const sentAt = Date.now();
      let status = 0;
      let cacheStatus = null;
      let upstream = null;
      let servedAt = null;
      try {
        const response = await location.mf.dispatchFetch(`${SITE}${url}`, { method, headers: { ...headers, "x-sim-location": colo, ...(probe && { "x-sim-probe": "1" }) }, cf: location.cf });
        await response.arrayBuffer();
        status = response.status;
        cacheStatus = response.headers.get("cache-status");
        upstream = response.headers.get("outpost-upstream");
        servedAt = Number(response.headers.get("x-sim-served-at")) || null;
      } catch (error) {
        status = 0;
        cacheStatus = `error: ${error.message}`;
      }
      return { sentAt, receivedAt: Date.now(), status, cacheStatus, upstream, servedAt };
    };

    const dispatchTraffic = async (request) => {
      const location = locations[request.colo];
      if (location.inflight >= MAX_INFLIGHT_PER_LOCATION) {
        location.stats.shed += 1;
        return;
      }
      location.inflight += 1;
      const answer = await send(request.colo, request);
      location.inflight -= 1;
      const path = request.url.split("?")[0];
      const classified = classifyCacheStatus(answer.cacheStatus);
      const isHit = classified.kind === "hit" || classified.kind === "stale-swr";
      const firstServed = origins.stats.firstServedAt.get(path);
      const impossible = isHit && (firstServed === undefined || firstServed > answer.receivedAt || (answer.servedAt !== null && answer.servedAt > answer.receivedAt));
      const before = { failovers: location.stats.failovers, errors: location.stats.errors };
      countResponse(location.stats, { ...answer, latencyMs: answer.receivedAt - answer.sentAt, impossible }, location.expectedPool);
      answers.push({ colo: request.colo, sentAt: answer.sentAt, kind: classified.kind, failover: location.stats.failovers > before.failovers, error: location.stats.errors > before.errors, latencyMs: answer.receivedAt - answer.sentAt });
      const bucket = Math.min(TIMELINE_BUCKETS - 1, Math.floor((answer.sentAt - startedAt) / bucketMs));
      timeline[request.colo].requests[bucket] += 1;
      if (isHit) timeline[request.colo].hits[bucket] += 1;
    };

    const runPurge = async (event) => {
      const path = longLived[event.probeRank] ?? catalogue[event.probeRank];
      const id = path.split("/").pop();
      const label = `${event.purge === "url" ? `URL ${path}` : event.purge === "tag" ? `tag obj-${id}` : "everything"} (${event.soft ? "soft" : "hard"})`;
      // Every location holds a copy first (what it serves now is what the purge must remove).
      const before = await Promise.all(colos.map((colo) => send(colo, { url: path }, { probe: true })));
      const body = event.purge === "url" ? { files: [`${SITE}${path}`] } : event.purge === "tag" ? { tags: [`obj-${id}`] } : { purge_everything: true };
      if (event.soft) body.soft = true;
      const purgeAt = colos[0];
      const sentAt = Date.now();
      const response = await locations[purgeAt].mf.dispatchFetch(`${SITE}/__outpost/purge`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        cf: locations[purgeAt].cf,
      });
      const answer = await response.json();
      const ackAt = Date.now();
      const record = { label, at: Math.round(((sentAt - startedAt) * scale) / 1000), purgedAt: purgeAt, ack: answer.success === true, ackMs: ackAt - sentAt, boundMs: Math.round(boundMs), id: answer.result?.id, epoch: answer.result?.epoch, coordinator: answer.result?.coordinator, copiesBefore: Object.fromEntries(colos.map((colo, index) => [colo, before[index].servedAt !== null && before[index].servedAt < sentAt])), convergenceMs: {}, probes: 0 };
      purges.push(record);
      eventLog.push({ atSimSeconds: record.at, kind: "purge", detail: `${label} at ${purgeAt}: ${answer.success ? "acknowledged" : `refused ${JSON.stringify(answer.errors)}`}` });
      await Promise.all(
        colos.map(async (colo) => {
          for (;;) {
            const probeAt = Date.now();
            if (probeAt - ackAt > boundMs * 1.5) {
              record.convergenceMs[colo] = null;
              return;
            }
            const seen = await send(colo, { url: path }, { probe: true });
            record.probes += 1;
            if (seen.status === 200 && seen.servedAt !== null && seen.servedAt >= sentAt) {
              record.convergenceMs[colo] = Math.max(0, probeAt - ackAt);
              return;
            }
            await sleep(probeInterval);
          }
        }),
      );
      if (options.coordination && record.id) {
        await sleep(RECEIPT_DELAY_MS);
        record.receipt = await readReceipt(locations[purgeAt], record.id, sentAt);
      }
    };

    const runEvent = async (event) => {
      if (event.kind === "purge") return runPurge(event);
      if (event.kind === "origin") {
        await origins.byName(event.origin).setState(event.state);
        if (event.state === "down") outages.push({ origin: event.origin, downAt: Date.now(), upAt: undefined });
        else for (const outage of outages) if (outage.origin === event.origin && outage.upAt === undefined) outage.upAt = Date.now();
        eventLog.push({ atSimSeconds: Math.round(simSeconds()), kind: "origin", detail: `${event.origin} ${event.state}` });
      } else if (event.kind === "kv-fail") {
        const colo = event.location < 0 ? colos.at(event.location) : colos[event.location];
        kv.failLocation(colo, Date.now() + (event.seconds * 1000) / scale);
        eventLog.push({ atSimSeconds: Math.round(simSeconds()), kind: "kv-fail", detail: `KV fails at ${colo} for ${event.seconds} s (sim)` });
      }
    };

    const pending = [];
    // Events after the run's end are left out (a short replay keeps the scenario's early events only).
    const events = options.events ? scenario.events.filter((event) => (event.at * 1000) / scale < runMs).sort((a, b) => a.at - b.at) : [];
    console.log(`sim: ${requests.length} requests${skipped ? ` (${skipped} log lines skipped)` : ""}, ${events.length} events`);
    let nextRequest = 0;
    let nextEvent = 0;
    let lastReport = 0;
    while (nextRequest < requests.length || nextEvent < events.length) {
      const elapsed = Date.now() - startedAt;
      while (nextEvent < events.length && (events[nextEvent].at * 1000) / scale <= elapsed) pending.push(runEvent(events[nextEvent++]));
      while (nextRequest < requests.length && requests[nextRequest].at <= elapsed) pending.push(dispatchTraffic(requests[nextRequest++]));
      if (elapsed - lastReport >= 10_000) {
        lastReport = elapsed;
        const done = colos.reduce((sum, colo) => sum + locations[colo].stats.requests, 0);
        console.log(`sim: ${(elapsed / 1000).toFixed(0)} s real (${simSeconds().toFixed(0)} s sim): ${done} answered`);
      }
      if (nextEvent >= events.length && nextRequest >= requests.length) break;
      await sleep(5);
    }
    await Promise.all(pending);
    const realSeconds = (Date.now() - startedAt) / 1000;
    const coordinatorCalls = coordinator ? describeCoordinatorCalls(await (await fetch(`${coordinator.url}/stats`)).json(), colos, realSeconds) : undefined;
    // Each location's workerd process: CPU per answered request (its own probes and background work
    // included) and resident memory, read from /proc (bench/lib/measure.mjs).
    const processes = Object.fromEntries(
      colos.map((colo) => {
        const { pid, stats } = locations[colo];
        const cpu = pid ? cpuMs(pid) - locations[colo].cpuAtStart : Number.NaN;
        return [colo, { pid, cpuMsPerRequest: stats.requests ? Number((cpu / stats.requests).toFixed(2)) : null, rssMiB: readRssMiB(pid) }];
      }),
    );

    // ---- results ----
    const finished = Object.fromEntries(colos.map((colo) => [colo, finishLocationStats(locations[colo].stats)]));
    const total = finishLocationStats(sumStats(colos.map((colo) => locations[colo].stats)));
    const originRequests = { total: 0, probes: 0, byOrigin: {}, byPool: {}, byLocation: {}, poolOf: {}, byLocationAndPool: {} };
    const originTimeline = Object.fromEntries(colos.map((colo) => [colo, new Array(TIMELINE_BUCKETS).fill(0)]));
    for (const origin of origins.origins) originRequests.poolOf[origin.name] = origin.pool;
    for (const seen of origins.stats.requests) {
      if (seen.probe) {
        originRequests.probes += 1;
        continue;
      }
      originRequests.total += 1;
      originRequests.byOrigin[seen.origin] = (originRequests.byOrigin[seen.origin] ?? 0) + 1;
      originRequests.byPool[seen.pool] = (originRequests.byPool[seen.pool] ?? 0) + 1;
      originRequests.byLocation[seen.location] = (originRequests.byLocation[seen.location] ?? 0) + 1;
      const perPool = (originRequests.byLocationAndPool[seen.location] ??= {});
      perPool[seen.pool] = (perPool[seen.pool] ?? 0) + 1;
      const bucket = Math.min(TIMELINE_BUCKETS - 1, Math.max(0, Math.floor((seen.at - startedAt) / bucketMs)));
      if (originTimeline[seen.location]) originTimeline[seen.location][bucket] += 1;
    }
    const kvSnapshot = kv.snapshot();
    const result = {
      scenario: options.replay ? `replay ${options.replay}` : scenario.name,
      startedAt: new Date(startedAt).toISOString(),
      scale,
      cacheTiers: options.tiers,
      kvPropagationSeconds: options.propagationSeconds,
      durationSeconds: { simulated: Math.round((runMs * scale) / 1000), real: Number(realSeconds.toFixed(1)) },
      worldRatePerSecond: options.replay ? undefined : totalRate,
      catalogueSize: catalogue.length,
      machine: { cores: availableParallelism(), memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)), node: process.version },
      locations: finished,
      total,
      originRequests,
      staleServed: total.staleServed,
      purges,
      purgeBound: options.coordination
        ? { ms: Math.round(boundMs), formula: `purge_poll_interval_ms ${COORDINATOR_POLL_INTERVAL_MS} x 1.5 + ${COORDINATOR_BOUND_MARGIN_MS} ms margin + one probe interval ${probeInterval} ms (real time)`, kvOnlyMs: Math.round(kvBoundMs) }
        : { ms: Math.round(boundMs), formula: "(KV propagation + ledger read cacheTtl 30 s) / scale + Outpost's global re-read 5 s + location re-read 1 s + 2 s margin + one probe interval" },
      purgeConvergence: describeConvergence(purges),
      ...(coordinatorCalls && { coordination: { purgePollIntervalMs: COORDINATOR_POLL_INTERVAL_MS, calls: coordinatorCalls } }),
      kv: kvSnapshot,
      events: eventLog.sort((a, b) => a.atSimSeconds - b.atSimSeconds),
      timeline: {
        bucketSimSeconds: (bucketMs * scale) / 1000,
        hitRatio: Object.fromEntries(colos.map((colo) => [colo, timeline[colo].requests.map((count, index) => (count ? Number((timeline[colo].hits[index] / count).toFixed(3)) : 0))])),
        requests: Object.fromEntries(colos.map((colo) => [colo, timeline[colo].requests])),
        originRequests: originTimeline,
      },
      processes,
      outages: outages.map((outage) => describeOutage(outage, answers, colos, startedAt, scale)),
      logs: logCounts,
      problems: [],
    };
    result.cost = projectMonthlyCost({ requests: total.requests, kvOps: kvSnapshot.total }, options.monthlyRequests);
    result.problems = checkRun(result);
    mkdirSync(options.out, { recursive: true });
    writeFileSync(join(options.out, "latest.json"), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(options.out, "latest.html"), renderHtml(result));
    printSummary(result);
    console.log(`sim: wrote ${join(options.out, "latest.json")} and latest.html`);
    if (options.check && result.problems.length > 0) {
      console.error(`sim: FAILED\n  ${result.problems.join("\n  ")}`);
      process.exitCode = 1;
    }
  } finally {
    await cleanup();
  }
}

/** GET <admin>/purge/<id> at the purging location: which locations have reported the purge, and when (real ms after it was sent). */
async function readReceipt(location, id, sentAt) {
  try {
    const response = await location.mf.dispatchFetch(`${SITE}/__outpost/purge/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, cf: location.cf });
    const body = await response.json();
    if (!response.ok) return { status: response.status, errors: body.errors };
    const { epoch, complete, observed, pending } = body.result;
    return {
      status: response.status,
      epoch,
      complete,
      observed: observed.map((seen) => ({ colo: seen.colo, afterMs: seen.after_ms, atMsAfterSend: Date.parse(seen.observed_at) - sentAt })),
      pending: pending.map((waiting) => waiting.colo),
    };
  } catch (error) {
    return { status: 0, errors: [String(error)] };
  }
}

function readRssMiB(pid) {
  try {
    const kib = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    return Number((kib / 1024).toFixed(1));
  } catch {
    return null;
  }
}

/** What every location saw while an origin was down: requests, stale served, failovers, errors, p95. */
function describeOutage({ origin, downAt, upAt = Date.now() }, answers, colos, startedAt, scale) {
  const perLocation = {};
  for (const colo of colos) {
    const during = answers.filter((answer) => answer.colo === colo && answer.sentAt >= downAt && answer.sentAt < upAt);
    const latencies = during.map((answer) => answer.latencyMs).sort((a, b) => a - b);
    perLocation[colo] = {
      requests: during.length,
      staleWhileRevalidate: during.filter((answer) => answer.kind === "stale-swr").length,
      staleIfError: during.filter((answer) => answer.kind === "stale-sie").length,
      failovers: during.filter((answer) => answer.failover).length,
      errors: during.filter((answer) => answer.error).length,
      p95Ms: latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.95))] : 0,
    };
  }
  return { origin, fromSimSeconds: Math.round(((downAt - startedAt) * scale) / 1000), toSimSeconds: Math.round(((upAt - startedAt) * scale) / 1000), perLocation };
}

function printSummary(result) {
  const pad = (value, width) => String(value).padStart(width);
  console.log(`\nlocation  requests  hit%   mem%  colo%   kv%  origin  swr  sie  failover  errors  shed`);
  for (const [colo, stats] of Object.entries({ ...result.locations, total: result.total })) {
    const origin = colo === "total" ? result.originRequests.total : (result.originRequests.byLocation[colo] ?? 0);
    console.log(
      `${colo.padEnd(8)} ${pad(stats.requests, 9)} ${pad((stats.hitRatio * 100).toFixed(1), 5)} ${pad((stats.hitRatioByTier.memory * 100).toFixed(1), 6)} ${pad((stats.hitRatioByTier.colo * 100).toFixed(1), 6)} ${pad((stats.hitRatioByTier.kv * 100).toFixed(1), 5)} ${pad(origin, 7)} ${pad(stats.staleServed.staleWhileRevalidate, 4)} ${pad(stats.staleServed.staleIfError, 4)} ${pad(stats.failovers, 9)} ${pad(stats.errors, 7)} ${pad(stats.shed, 5)}`,
    );
  }
  console.log(`origin requests by origin: ${JSON.stringify(result.originRequests.byOrigin)} (probes ${result.originRequests.probes})`);
  for (const purge of result.purges) {
    console.log(`purge ${purge.label}: convergence ms after ack ${JSON.stringify(purge.convergenceMs)} (bound ${purge.boundMs})`);
    if (purge.receipt) console.log(`  receipt (epoch ${purge.receipt.epoch}, complete ${purge.receipt.complete}): observed ${purge.receipt.observed?.map((seen) => `${seen.colo} +${seen.atMsAfterSend} ms`).join(", ") || "-"}; pending ${purge.receipt.pending?.join(",") || "-"}${purge.receipt.errors ? ` ${JSON.stringify(purge.receipt.errors)}` : ""}`);
  }
  const convergence = result.purgeConvergence;
  console.log(`purge convergence (real ms after the ack, ${convergence.samples} location-purges, ${convergence.missed} missed): p50 ${convergence.p50Ms}, p99 ${convergence.p99Ms}, max ${convergence.maxMs}`);
  if (result.coordination) console.log(`coordinator calls: ${result.coordination.calls.meanPollsPerLocationPerSecond} polls per location per second (${JSON.stringify(result.coordination.calls.pollsPerLocationPerSecond)}), ${result.coordination.calls.record} records, ${result.coordination.calls.receipt} receipts, ${result.coordination.calls.failed} failed`);
  for (const outage of result.outages) console.log(`${outage.origin} down ${outage.fromSimSeconds}-${outage.toSimSeconds} s (sim): ${JSON.stringify(outage.perLocation)}`);
  console.log(`KV ops: ${JSON.stringify(result.kv.total)}`);
  console.log(`workerd per location (CPU ms per request, RSS MiB): ${Object.entries(result.processes).map(([colo, seen]) => `${colo} ${seen.cpuMsPerRequest} ${seen.rssMiB}`).join(", ")}`);
  console.log(`projected monthly cost for ${result.cost.monthlyRequests.toLocaleString("en")} requests: $${result.cost.totalUsd}`);
  if (result.problems.length) console.log(`problems:\n  ${result.problems.join("\n  ")}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

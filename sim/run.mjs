#!/usr/bin/env node
// `npm run sim -- [--scenario world|quick|sparse-outage | --quick | --replay FILE] [--locations FRA,IAD,...]
//   [--duration 20m] [--scale 8] [--rate 60] [--tiers memory,colo,kv] [--propagation 60]
//   [--monthly-requests 100000000] [--no-events] [--seed 1] [--coordination] [--shield] [--shared-health]`
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
// `--shield` adds the origin shield: the real OriginShield Durable Object in the same coordinator
// instance (sim/shield-transport.ts), `shield = {}` on every pool of the shielded route, and a KV-only
// twin route (same origins, no shield) for the same run's baseline: the burst, origin requests per
// distinct object per TTL window, and the fallback while the shield fails (sim/shield-report.mjs).
// `--shared-health` adds shared health: the real PoolHealth Durable Objects in the coordinator instance,
// reached through the same RPC transport shim, and `coordination.shared_health` on; during each origin
// outage every location's status is read to time when it stopped trying the dead origin first
// (sim/health-report.mjs). Without the flag the same figures are measured: the baseline.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuMs, startWithPid } from "../bench/lib/measure.mjs";
import { bundleWorker, countingLogs } from "../scripts/worker-bundle.mjs";
import { DEFAULT_PROPAGATION_MS, SimKv } from "./kv-shim.mjs";
import { startCoordinatorInstance } from "./coordinator-instance.mjs";
import { startKvServer } from "./kv-server.mjs";
import { CONTINENT_POOLS, DEFAULT_LOCATIONS, LOCATIONS, QUICK_LOCATIONS, locationCf } from "./locations.mjs";
import { DEFAULT_POOLS, startOrigins } from "./origins.mjs";
import { readReplay } from "./replay.mjs";
import { checkRun, classifyCacheStatus, parseUpstream, countResponse, describeConvergence, describeCoordinatorCalls, emptyLocationStats, finishLocationStats, projectMonthlyCost, renderHtml, sumStats } from "./report.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { HEALTH_COLUMNS, checkSharedHealth, describeHealthOutage, healthBoundMs, healthRows, watchOriginHealth } from "./health-report.mjs";
import { describeFaultWindow, fetchesPerTtlWindow, isShieldBypass, isShieldedPath, readShieldPhase, shieldRows } from "./shield-report.mjs";
import { buildCatalogue, classForPath, generateWorldRequests } from "./traffic.mjs";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const SITE_HOST = "site.example";
const SITE = `https://${SITE_HOST}`;
/** `--shield`: the KV-only twin of the site's route (the same origins, pools without a shield), the same run's baseline. */
const DIRECT_HOST = "direct.site.example";
/** `--shield`: routes without steering, every location to the eu pool (shielded, and its KV-only twin): the one-pool burst. */
const ONE_POOL_HOST = "one.site.example";
const ONE_POOL_DIRECT_HOST = "one.direct.site.example";
const DIRECT_SUFFIX = "-direct";
/** After a failed call a location skips the shield's shard for this long (src/coordination/shield-client.ts: SHIELD_RETRY_MS). */
const SHIELD_RETRY_MS = 2_000;
/** `--shield`: the burst: every location misses one new object this many times at once. */
const BURST_PER_LOCATION = 50;
const ADMIN_TOKEN = "sim-admin-token-0123456789abcdef";
/** Outpost's own re-read intervals of the purge ledger (src/purge/purge-state.ts); real time, not scaled. */
const LEDGER_LOCATION_REREAD_MS = 1_000;
const LEDGER_GLOBAL_REREAD_MS = 5_000;
/** The cacheTtl Outpost reads the ledger with (production seconds; the shim scales it). */
const LEDGER_CACHE_TTL_SECONDS = 30;
const BOUND_MARGIN_MS = 2_000;
/** Outpost's coordination.purge_poll_interval_ms in a `--coordination` run (the schema's default; real time, not scaled). */
const COORDINATOR_POLL_INTERVAL_MS = 1_000;
/** Outpost's coordination.shared_health_poll_interval_ms in a `--shared-health` run (the schema's default; real time). */
const SHARED_HEALTH_POLL_INTERVAL_MS = 1_000;
/** The coordinator's bound's margin: the coordinator round trips and a shared machine's scheduling. */
const COORDINATOR_BOUND_MARGIN_MS = 1_000;
/** With the coordinator, probes every 100 ms: convergence is about 1.5 s, so 250-500 ms probes would blur it. */
const COORDINATOR_PROBE_INTERVAL_MS = 100;
/** How long after the last location converged the receipt is read: a location reports a purge on its next poll. */
const RECEIPT_DELAY_MS = 2 * COORDINATOR_POLL_INTERVAL_MS;
const COORDINATOR_NAME = "sim-coordinator";
/** The origin shield's name as a KV location: its reads and writes are counted apart from the locations'. */
const SHIELD_KV_LOCATION = "SHIELD";
/** The coordinator instance's logs (the origin shield's) in the report's `logs`. */
const COORDINATOR_LOGS = "coordinator";
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
    else if (arg === "--shield") options.shield = true;
    else if (arg === "--shared-health") options.sharedHealth = true;
    else throw new Error(`unknown option ${arg}`);
  }
  if (options.scenario === "quick") options.check = true;
  return options;
}

/**
 * Outpost's configuration at every location (and the shield's): geo steering by continent, failover to
 * the other pools. With `shield`, the site's pools get `shield = {}` (the defaults) and a twin route on
 * DIRECT_HOST uses twin pools (the same origins, no shield): the same run's KV-only baseline.
 * Server-Timing is on with the shield (its `shield` phase names the shield's outcome).
 */
function outpostConfig(pools, tiers, scale, { coordination = false, shield = false, sharedHealth = false } = {}) {
  // The breaker's cool-down (30 s by default) is scaled with the run, like the TTLs.
  const breaker = { circuit_breaker: { open_seconds: Math.max(1, Math.round(30 / scale)) } };
  const route = (name, hosts, suffix, geo = true) => ({
    name,
    hosts,
    path: "/*",
    steering_policy: geo ? "geo" : "off",
    default_pools: (geo ? ["us", "eu", "apac"] : ["eu", "us", "apac"]).map((pool) => pool + suffix),
    ...(geo && { continent_pools: Object.fromEntries(Object.entries(CONTINENT_POOLS).map(([continent, names]) => [continent, names.map((pool) => pool + suffix)])) }),
    same_content: true,
    origin_timeout_ms: 2_000,
    deadline_ms: 6_000,
    cache: { stale_while_revalidate_seconds: Math.max(1, Math.round(60 / scale)), bypass_cookies: ["session"] },
  });
  const twins = pools.map((pool) => ({ ...pool, name: pool.name + DIRECT_SUFFIX, origins: pool.origins.map((origin) => ({ ...origin, name: origin.name + DIRECT_SUFFIX })), ...breaker }));
  return {
    ...((coordination || sharedHealth) && {
      coordination: {
        ...(coordination && { purge_coordinator: true, purge_poll_interval_ms: COORDINATOR_POLL_INTERVAL_MS }),
        ...(sharedHealth && { shared_health: true, shared_health_poll_interval_ms: SHARED_HEALTH_POLL_INTERVAL_MS }),
      },
    }),
    cache_tiers: tiers,
    pools: [...pools.map((pool) => ({ ...pool, ...breaker, ...(shield && { shield: {} }) })), ...(shield ? twins : [])],
    routes: [
      route("site", [SITE_HOST], ""),
      ...(shield ? [route("direct", [DIRECT_HOST], DIRECT_SUFFIX), route("one-pool", [ONE_POOL_HOST], "", false), route("one-pool-direct", [ONE_POOL_DIRECT_HOST], DIRECT_SUFFIX, false)] : []),
    ],
    observability: { request_log_sample_rate: 0, server_timing: shield },
  };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!Object.hasOwn(SCENARIOS, options.scenario)) throw new Error(`unknown scenario ${options.scenario} (${Object.keys(SCENARIOS).join(", ")})`);
  const scenario = SCENARIOS[options.scenario]();
  const colos = options.locations ?? scenario.locations ?? (options.scenario === "quick" ? QUICK_LOCATIONS : DEFAULT_LOCATIONS);
  for (const colo of colos) locationCf(colo); // fails early on an unknown code
  const scale = options.scale ?? scenario.scale;
  const durationSimSeconds = options.durationSimSeconds ?? scenario.durationSimSeconds;
  const durationMs = (durationSimSeconds * 1000) / scale;
  const totalRate = options.rate ?? scenario.totalRate;
  const propagationMs = options.propagationSeconds * 1000;
  const catalogue = buildCatalogue(scenario.catalogueSize);
  // With the shield, purges and their probes use shielded objects: a purge must reach the shield's copy too.
  const longLived = catalogue.filter((path) => classForPath(path).ttlSeconds >= 3_600 && (!options.shield || isShieldedPath(path)));
  /** The host a path is requested on: with `--shield`, half the objects go through the KV-only twin route. */
  const hostFor = (path) => (options.shield && !isShieldedPath(path) ? DIRECT_HOST : SITE_HOST);
  const probeInterval = options.coordination ? COORDINATOR_PROBE_INTERVAL_MS : colos.length > 4 ? 500 : 250;
  const kvBoundMs = (propagationMs + LEDGER_CACHE_TTL_SECONDS * 1000) / scale + LEDGER_GLOBAL_REREAD_MS + LEDGER_LOCATION_REREAD_MS + BOUND_MARGIN_MS + probeInterval;
  // With the coordinator a purge reaches a location within 1.5 poll intervals (docs/coordination.md).
  const boundMs = options.coordination ? COORDINATOR_POLL_INTERVAL_MS * 1.5 + COORDINATOR_BOUND_MARGIN_MS + probeInterval : kvBoundMs;

  console.log(`sim: ${scenario.name}${options.replay ? ` (replay ${options.replay})` : ""}, ${colos.length} locations (${colos.join(",")}), ${durationSimSeconds} s simulated at scale ${scale} = ${(durationMs / 1000).toFixed(0)} s real, tiers ${options.tiers.join(",")}, KV propagation ${options.propagationSeconds} s, ${options.coordination ? `purge coordinator (poll every ${COORDINATOR_POLL_INTERVAL_MS} ms)` : "KV-only purge ledger"}${options.shield ? `, origin shield on ${SITE_HOST} (${DIRECT_HOST}: KV-only baseline)` : ""}${options.sharedHealth ? `, shared health (poll every ${SHARED_HEALTH_POLL_INTERVAL_MS} ms)` : ""}`);
  console.log("sim: bundling Outpost (wrangler deploy --dry-run --env production, entry sim/location-worker.ts)");
  const script = bundleWorker("sim-location", { entry: "sim/location-worker.ts" });

  const kv = new SimKv({ propagationMs, scale });
  const kvServer = await startKvServer(kv);
  const origins = await startOrigins(DEFAULT_POOLS, { scale });
  const config = outpostConfig(origins.outpostPools(), options.tiers, scale, { coordination: options.coordination, shield: options.shield, sharedHealth: options.sharedHealth });
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
    if (options.coordination || options.shield || options.sharedHealth) {
      console.log(`sim: bundling and starting the coordinator instance (sim/coordinator-worker.ts: ${[options.coordination && "the real PurgeCoordinator, SQLite storage", options.shield && "the real OriginShield, an isolate per pool, KV as the location SHIELD", options.sharedHealth && "the real PoolHealth, SQLite storage"].filter(Boolean).join("; ")})`);
      coordinator = await startCoordinatorInstance({
        script: bundleWorker(COORDINATOR_NAME, { entry: "sim/coordinator-worker.ts" }),
        sharedHealth: options.sharedHealth === true,
        // One worker (isolate) per shielded pool.
        shieldPools: options.shield ? config.pools.filter((pool) => pool.shield).map((pool) => pool.name) : [],
        shieldEnv: {
          OUTPOST: { type: "json", value: config },
          OUTPOST_ADMIN_TOKEN: { type: "text", value: ADMIN_TOKEN },
          SIM_KV: { type: "json", value: { url: kvServer.url, location: SHIELD_KV_LOCATION } },
        },
        handleStructuredLogs: countingLogs((logCounts[COORDINATOR_LOGS] = {})),
      });
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
          ...(options.coordination && { SIM_COORDINATOR: { type: "json", value: { url: coordinator.url } } }),
          ...(options.shield && { SIM_SHIELD: { type: "json", value: { url: coordinator.url } } }),
          ...(options.sharedHealth && { SIM_POOL_HEALTH: { type: "json", value: { url: coordinator.url } } }),
        },
        { handleStructuredLogs: countingLogs(logs) },
      );
      locations[colo] = { ...worker, cpuAtStart: worker.pid ? cpuMs(worker.pid) : Number.NaN, cf: locationCf(colo), stats: emptyLocationStats(), inflight: 0, expectedPool: CONTINENT_POOLS[LOCATIONS[colo].continent][0] };
    }

    // Each location's dashboard works during the run: with --coordination a purge made there shows its
    // receipt filling up location by location (docs/simulator.md, "Watching a purge from the dashboard").
    console.log(`sim: dashboards (admin token ${ADMIN_TOKEN}): ${colos.map((colo) => `${colo} ${locations[colo].url}/__outpost/`).join("  ")}`);

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

    // Restarted after the shield's burst (it runs before the world traffic).
    let startedAt = Date.now();
    const simSeconds = () => ((Date.now() - startedAt) * scale) / 1000;
    const eventLog = [];
    /** Every traffic answer, compact: for the figures of an outage's window. */
    const answers = [];
    /** Origin outages: { origin, downAt, upAt } (real ms). */
    const outages = [];
    const purges = [];
    /** Shield faults in force (real ms), for the traffic's figures in each window. */
    const faultWindows = [];
    const setFaults = async (faults) => {
      const response = await fetch(`${coordinator.url}/faults`, { method: "POST", body: JSON.stringify(faults) });
      if (!response.ok) throw new Error(`POST /faults: ${response.status} ${await response.text()}`);
    };

    /** One request at a location; `probe` requests are the simulator's own and are not counted as traffic. */
    const send = async (colo, { method = "GET", url, headers = {} }, { probe = false, host = hostFor(url) } = {}) => {
      const location = locations[colo];
      const sentAt = Date.now();
      let status = 0;
      let cacheStatus = null;
      let upstream = null;
      let serverTiming = null;
      let servedAt = null;
      try {
        const response = await location.mf.dispatchFetch(`https://${host}${url}`, { method, headers: { ...headers, "x-sim-location": colo, ...(probe && { "x-sim-probe": "1" }) }, cf: location.cf });
        await response.arrayBuffer();
        status = response.status;
        cacheStatus = response.headers.get("cache-status");
        upstream = response.headers.get("outpost-upstream");
        serverTiming = response.headers.get("server-timing");
        servedAt = Number(response.headers.get("x-sim-served-at")) || null;
      } catch (error) {
        status = 0;
        cacheStatus = `error: ${error.message}`;
      }
      return { sentAt, receivedAt: Date.now(), status, cacheStatus, upstream, serverTiming, servedAt };
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
      // The twin route's pools carry a suffix: steering there picks the twin of the same pool.
      const expectedPool = hostFor(path) === DIRECT_HOST ? location.expectedPool + DIRECT_SUFFIX : location.expectedPool;
      countResponse(location.stats, { ...answer, latencyMs: answer.receivedAt - answer.sentAt, impossible }, expectedPool);
      answers.push({
        colo: request.colo,
        sentAt: answer.sentAt,
        kind: classified.kind,
        failover: location.stats.failovers > before.failovers,
        // Which pool answered and after how many attempts (shared health's figures: was the dead origin tried first?).
        ...(answer.upstream && (({ pool, attempts }) => ({ pool, attempts }))(parseUpstream(answer.upstream))),
        error: location.stats.errors > before.errors,
        latencyMs: answer.receivedAt - answer.sentAt,
        ...(options.shield && { shieldBypass: isShieldBypass(answer.cacheStatus), shieldOutcome: readShieldPhase(answer.serverTiming)?.desc }),
      });
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
      const body = event.purge === "url" ? { files: [`https://${hostFor(path)}${path}`] } : event.purge === "tag" ? { tags: [`obj-${id}`] } : { purge_everything: true };
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
      const record = { sentAt, paths: event.purge === "everything" ? null : [path], label, at: Math.round(((sentAt - startedAt) * scale) / 1000), purgedAt: purgeAt, ack: answer.success === true, ackMs: ackAt - sentAt, boundMs: Math.round(boundMs), id: answer.result?.id, epoch: answer.result?.epoch, coordinator: answer.result?.coordinator, copiesBefore: Object.fromEntries(colos.map((colo, index) => [colo, before[index].servedAt !== null && before[index].servedAt < sentAt])), convergenceMs: {}, probes: 0 };
      purges.push(record);
      eventLog.push({ atSimSeconds: record.at, kind: "purge", detail: `${label} at ${purgeAt}: ${answer.success ? "acknowledged" : `refused ${JSON.stringify(answer.errors)}`}` });
      await Promise.all(
        colos.map(async (colo) => {
          let lastSeen;
          for (;;) {
            const probeAt = Date.now();
            if (probeAt - ackAt > boundMs * 1.5) {
              record.convergenceMs[colo] = null;
              // What the location still answered, for the report (why it did not converge).
              (record.lastProbe ??= {})[colo] = lastSeen && { status: lastSeen.status, cacheStatus: lastSeen.cacheStatus, serverTiming: lastSeen.serverTiming, servedAtMsBeforePurge: lastSeen.servedAt === null ? null : sentAt - lastSeen.servedAt };
              return;
            }
            const seen = await send(colo, { url: path }, { probe: true });
            if (!lastSeen) (record.firstProbe ??= {})[colo] = { status: seen.status, cacheStatus: seen.cacheStatus, serverTiming: seen.serverTiming, servedAtMsBeforePurge: seen.servedAt === null ? null : sentAt - seen.servedAt };
            lastSeen = seen;
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

    /** A location's GET /__outpost/status (the origins' circuits and shared demotions as its isolate sees them). */
    const readStatusAt = async (colo) => {
      const response = await locations[colo].mf.dispatchFetch(`${SITE}/__outpost/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, cf: locations[colo].cf });
      if (!response.ok) throw new Error(`status ${response.status}`);
      return response.json();
    };

    const runEvent = async (event) => {
      if (event.kind === "purge") return runPurge(event);
      if (event.kind === "origin") {
        await origins.byName(event.origin).setState(event.state);
        if (event.state === "down") {
          // Every location's view of the dead origin (its status), until it is back.
          const watch = watchOriginHealth({ colos, origin: event.origin, readStatus: readStatusAt });
          outages.push({ origin: event.origin, pool: origins.byName(event.origin).pool, downAt: Date.now(), upAt: undefined, watch });
        } else {
          for (const outage of outages) {
            if (outage.origin !== event.origin || outage.upAt !== undefined) continue;
            outage.upAt = Date.now();
            await outage.watch.stop();
          }
        }
        eventLog.push({ atSimSeconds: Math.round(simSeconds()), kind: "origin", detail: `${event.origin} ${event.state}` });
      } else if (event.kind === "shield-fault" || event.kind === "coordinator-down") {
        // The coordinator instance down: purge-coordinator calls fail and shield stubs reject (unreachable).
        const faults = event.kind === "shield-fault" ? { shield: event.mode } : { shield: "throw", coordinator: true };
        const realMs = (event.seconds * 1000) / scale;
        const label = event.kind === "shield-fault" ? `shield ${{ error: "answers 500", hang: "hangs", throw: "unreachable" }[event.mode]}` : "coordinator instance down";
        const fromAt = Date.now();
        await setFaults({ ...faults, seconds: realMs / 1000 });
        eventLog.push({ atSimSeconds: Math.round(simSeconds()), kind: event.kind, detail: `${label} for ${event.seconds} s (sim)` });
        await sleep(realMs);
        await setFaults({});
        faultWindows.push({ label, fromAt, toAt: Date.now(), fromSimSeconds: event.at, toSimSeconds: event.at + event.seconds });
      } else if (event.kind === "kv-fail") {
        const colo = event.location < 0 ? colos.at(event.location) : colos[event.location];
        kv.failLocation(colo, Date.now() + (event.seconds * 1000) / scale);
        eventLog.push({ atSimSeconds: Math.round(simSeconds()), kind: "kv-fail", detail: `KV fails at ${colo} for ${event.seconds} s (sim)` });
      }
    };

    const burst = options.shield ? await runBursts({ colos, send, origins, coordinator, rounds: options.scenario === "quick" ? 1 : 3 }) : undefined;
    startedAt = Date.now();
    const pending = [];
    // Events after the run's end are left out (a short replay keeps the scenario's early events only).
    const runs = (event) => event.requires === undefined || (event.requires === "shield" && options.shield) || (event.requires === "coordination+shield" && options.shield && options.coordination);
    const events = options.events ? scenario.events.filter((event) => runs(event) && (event.at * 1000) / scale < runMs).sort((a, b) => a.at - b.at) : [];
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
    for (const outage of outages) await outage.watch.stop();
    const realSeconds = (Date.now() - startedAt) / 1000;
    const healthBound = healthBoundMs();
    const { shield: shieldCalls, poolHealth: poolHealthCalls, ...coordinatorCounts } = coordinator ? await (await fetch(`${coordinator.url}/stats`)).json() : {};
    const coordinatorCalls = options.coordination ? describeCoordinatorCalls(coordinatorCounts, colos, realSeconds) : undefined;
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
      if (seen.path.includes("/burst-")) continue; // the shield's burst, reported on its own
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
    // The per-TTL-window figure: purges end an object's window; what the origins saw while the shield
    // was failing (and for the 2 s after, while locations skip a failed shard) is left out.
    const windowOptions = {
      scale,
      groupOf: (path) => (isShieldedPath(path) ? "shield" : "kvOnly"),
      exclude: (path) => path.includes("/burst-"),
      purges: purges.map((purge) => ({ at: purge.sentAt, paths: purge.paths })),
      skipped: faultWindows.map((window) => ({ fromAt: window.fromAt, toAt: window.toAt + SHIELD_RETRY_MS })),
    };
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
      ...(options.shield && {
        shield: {
          note: `Objects of even rank go through ${SITE_HOST} (pools with shield = {}); the others through ${DIRECT_HOST} (the same origins, no shield): the KV-only baseline of the same run. Origin requests are counted by the origins.`,
          burst,
          world: fetchesPerTtlWindow(origins.stats.requests, windowOptions),
          // The same per origin server: a shield is per pool, and each pool here has its own origin.
          worldPerOrigin: fetchesPerTtlWindow(origins.stats.requests, { ...windowOptions, perOrigin: true }),
          faults: faultWindows.map((window) => describeFaultWindow(window, answers, colos)),
          bypass: total.shieldBypass,
          outcomes: total.shieldOutcomes,
          calls: shieldCalls,
        },
      }),
      kv: kvSnapshot,
      events: eventLog.sort((a, b) => a.atSimSeconds - b.atSimSeconds),
      timeline: {
        bucketSimSeconds: (bucketMs * scale) / 1000,
        hitRatio: Object.fromEntries(colos.map((colo) => [colo, timeline[colo].requests.map((count, index) => (count ? Number((timeline[colo].hits[index] / count).toFixed(3)) : 0))])),
        requests: Object.fromEntries(colos.map((colo) => [colo, timeline[colo].requests])),
        originRequests: originTimeline,
      },
      processes,
      outages: outages.map((outage) => ({
        ...describeOutage(outage, answers, colos, startedAt, scale),
        health: describeHealthOutage(outage, answers, colos, { expectedPoolOf: (colo) => locations[colo].expectedPool, boundMs: healthBound }),
      })),
      ...(options.sharedHealth && {
        sharedHealth: {
          pollIntervalMs: SHARED_HEALTH_POLL_INTERVAL_MS,
          minLocations: 2,
          openSeconds: config.pools[0].circuit_breaker.open_seconds,
          boundMs: healthBound,
          calls: poolHealthCalls,
        },
      }),
      logs: logCounts,
      problems: [],
    };
    result.cost = projectMonthlyCost({ requests: total.requests, kvOps: kvSnapshot.total }, options.monthlyRequests);
    result.problems = [...checkRun(result), ...(options.sharedHealth ? checkSharedHealth(result) : [])];
    mkdirSync(options.out, { recursive: true });
    writeFileSync(join(options.out, "latest.json"), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(options.out, "latest.html"), renderHtml(result));
    // The origins' log (path, time, origin, location, probe, personalised), to recompute any figure from.
    writeFileSync(join(options.out, "origin-log.ndjson"), origins.stats.requests.map((seen) => JSON.stringify(seen)).join("\n") + "\n");
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
  if (result.shield) {
    console.log(`\norigin shield (${result.shield.note})`);
    printTable(shieldRows(result.shield), ["measurement", "shield", "KV-only", "target", "result"]);
    console.log(`shield outcomes at the locations (Server-Timing): ${JSON.stringify(result.shield.outcomes)}; fallbacks (shield-bypass) over the run: ${result.shield.bypass}; shield calls per location: ${JSON.stringify(result.shield.calls?.byColo)} (${result.shield.calls?.failed ?? 0} failed, injected ${JSON.stringify(result.shield.calls?.injected)})`);
  }
  if (result.coordination) console.log(`coordinator calls: ${result.coordination.calls.meanPollsPerLocationPerSecond} polls per location per second (${JSON.stringify(result.coordination.calls.pollsPerLocationPerSecond)}), ${result.coordination.calls.record} records, ${result.coordination.calls.receipt} receipts, ${result.coordination.calls.failed} failed`);
  for (const outage of result.outages) {
    console.log(`${outage.origin} down ${outage.fromSimSeconds}-${outage.toSimSeconds} s (sim): ${JSON.stringify(outage.perLocation)}`);
    console.log(`\n${outage.origin} down: who kept trying it first (${result.sharedHealth ? `shared health on; the first two circuits opened at ${outage.health.firstCircuitOpenMs ?? "-"} and ${outage.health.secondCircuitOpenMs ?? "-"} ms` : "shared health off: each location's own circuit"}; ms after the outage began, real)`);
    printTable(healthRows(outage.health), HEALTH_COLUMNS);
  }
  if (result.sharedHealth) console.log(`pool health calls: ${JSON.stringify(result.sharedHealth.calls)}`);
  console.log(`KV ops: ${JSON.stringify(result.kv.total)}`);
  console.log(`workerd per location (CPU ms per request, RSS MiB): ${Object.entries(result.processes).map(([colo, seen]) => `${colo} ${seen.cpuMsPerRequest} ${seen.rssMiB}`).join(", ")}`);
  console.log(`projected monthly cost for ${result.cost.monthlyRequests.toLocaleString("en")} requests: $${result.cost.totalUsd}`);
  if (result.problems.length) console.log(`problems:\n  ${result.problems.join("\n  ")}`);
}

/** A plain-text table (the shield's figures). */
function printTable(rows, columns) {
  const widths = columns.map((column, index) => Math.max(column.length, ...rows.map((row) => String(row[index]).length)));
  const line = (cells) => cells.map((cell, index) => (index === 0 ? String(cell).padEnd(widths[index]) : String(cell).padStart(widths[index]))).join("  ");
  console.log(line(columns));
  for (const row of rows) console.log(line(row));
}

/**
 * The shield's bursts, before the world traffic: every location sends BURST_PER_LOCATION requests for
 * one new object, all started together (locations x BURST_PER_LOCATION at once), through a shielded
 * route, then the same for another new object through its KV-only twin. "One pool": every location
 * steered to the eu pool (one shield shard for the object); "geo": each location to its continent's
 * pool, as in the world traffic (a shield per pool). Origin requests for each object are counted by the
 * origins (in total and per origin server); shield calls by the coordinator worker.
 */
async function runBursts({ colos, send, origins, coordinator, rounds }) {
  const shieldCalls = async () => (await (await fetch(`${coordinator.url}/stats`)).json()).shield?.calls ?? 0;
  const one = async (host, path) => {
    const callsBefore = await shieldCalls();
    const startedAt = Date.now();
    const answers = await Promise.all(colos.flatMap((colo) => Array.from({ length: BURST_PER_LOCATION }, () => send(colo, { url: path }, { host }))));
    const latencies = answers.map((answer) => answer.receivedAt - answer.sentAt).sort((a, b) => a - b);
    const outcomes = {};
    for (const answer of answers) {
      const desc = readShieldPhase(answer.serverTiming)?.desc ?? classifyCacheStatus(answer.cacheStatus).kind;
      outcomes[desc] = (outcomes[desc] ?? 0) + 1;
    }
    const reached = origins.stats.requests.filter((seen) => seen.path === path);
    const byOrigin = {};
    for (const seen of reached) byOrigin[seen.origin] = (byOrigin[seen.origin] ?? 0) + 1;
    return {
      path,
      requests: answers.length,
      originRequests: reached.length,
      byOrigin,
      failed: answers.filter((answer) => answer.status === 0 || answer.status >= 500).length,
      shieldCalls: (await shieldCalls()) - callsBefore,
      outcomes,
      p50Ms: latencies[Math.floor(latencies.length / 2)],
      maxMs: latencies.at(-1),
      realMs: Date.now() - startedAt,
    };
  };
  // Warm every location's isolate on both routes first (probes, not counted): production's isolates are
  // warm, and a cold one's first requests would measure its start-up rather than collapsing.
  const variants = [
    { steering: "one pool", shielded: ONE_POOL_HOST, direct: ONE_POOL_DIRECT_HOST },
    { steering: "geo", shielded: SITE_HOST, direct: DIRECT_HOST },
  ];
  await Promise.all(colos.flatMap((colo) => variants.flatMap((variant) => [variant.shielded, variant.direct]).map((host) => send(colo, { url: "/c/asset/burst-warm-up" }, { host, probe: true }))));
  const results = [];
  for (let round = 1; round <= rounds; round += 1) {
    for (const [index, variant] of variants.entries()) {
      const shield = await one(variant.shielded, `/c/asset/burst-shield-${round}-${index}`);
      const kvOnly = await one(variant.direct, `/c/asset/burst-kv-${round}-${index}`);
      results.push({ round, steering: variant.steering, locations: colos.length, perLocation: BURST_PER_LOCATION, shield, kvOnly });
      console.log(`sim: burst ${round} (${variant.steering}): ${shield.requests} concurrent misses of one new object: ${shield.originRequests} origin request(s) with the shield ${JSON.stringify(shield.byOrigin)} (${shield.shieldCalls} shield calls), ${kvOnly.originRequests} KV-only`);
    }
  }
  return { rounds: results };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

// Drill: Workers KV fails. Outpost runs behind kv-faults-worker.ts, which makes a quarter of KV calls
// fail with an error and another quarter with a 429 (the injected faults are the drills' one
// deliberate fake; everything else is the real Miniflare KV, real origins, real load).
// Pass: every GET is a 200 with the right body (served from the cache when KV answered, from the
// origin otherwise), no 500s, no Worker exception, and faults were really injected into reads and
// writes (else the drill tested nothing).
// KV is the only cache tier here ("cache_tiers": ["kv"]): with the hot and Cache API tiers in
// front, most lookups would never reach KV. The cron runs every 2 s, so the health snapshot's KV
// read and write meet the faults too.
import { OriginProcess } from "./origins.mjs";
import { OutpostUnderDrill } from "./outpost.mjs";
import { runLoad } from "./load.mjs";
import { check, examples, seconds, summarize } from "./report.mjs";
import { isCorrectAnswer, mixedTargets } from "./targets.mjs";

const FULL = { loadSeconds: 15 };
const SHORT = { loadSeconds: 5 };
const FAULTS = { errorRate: 0.25, rateLimitRate: 0.25 };
const LOAD = { loops: 4, ratePerSecond: 32, cronIntervalMs: 2_000 };
/** Pages go stale every 2 s, so entries are written again and again during the drill. */
const PAGE_MAX_AGE_SECONDS = 2;

function outpostConfig(origin) {
  return {
    cache_tiers: ["kv"],
    monitors: [{ name: "drill-health", path: "/health", interval_seconds: 60, timeout_ms: 1000, retries: 0 }],
    pools: [{ name: "main", monitor: "drill-health", origins: [{ name: "origin", address: origin.url }] }],
    // Every fill writes KV (the default admits a key from its second origin request): the drill is about KV's faults.
    routes: [{ name: "site", default_pools: ["main"], origin_timeout_ms: 2000, deadline_ms: 5000, cache: { admission: { kv_after_requests: 1 } } }],
  };
}

const sum = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
const perMethod = (counts) => Object.entries(counts).map(([method, n]) => `${method} ${n}`).join(", ") || "none";

export async function kvFaultsDrill({ script, short }) {
  const plan = short ? SHORT : FULL;
  const origin = await OriginProcess.start("origin", { maxAgeSeconds: PAGE_MAX_AGE_SECONDS });
  const outpost = await OutpostUnderDrill.start("drill-kv-faults", script, outpostConfig(origin), { DRILL_KV_FAULTS: { type: "json", value: FAULTS } });
  try {
    await outpost.runCron();
    outpost.startCron(LOAD.cronIntervalMs);
    const { samples, elapsedMs } = await runLoad({ baseUrl: outpost.url, ...LOAD, pickTarget: mixedTargets, durationMs: plan.loadSeconds * 1000 });
    outpost.stopCron();
    const kv = await (await fetch(`${outpost.url}/__drill/kv-faults`)).json();

    const failed = samples.filter((s) => !isCorrectAnswer(s));
    const pages = samples.filter((s) => s.kind === "cacheable");
    const hits = pages.filter((s) => /^Outpost; hit/.test(s.cacheStatus ?? "")).length;
    const injected = (method) => (kv.errors[method] ?? 0) + (kv.rateLimited[method] ?? 0);
    const handled = ["cache_tier_read_failed", "cache_tier_write_failed", "health_snapshot_read_failed", "health_check_failed"].map((event) => `${event} ${outpost.events(event).length}`);

    return {
      name: "KV failing",
      summary: summarize(samples, (s) => !isCorrectAnswer(s)),
      keyFigure: `${sum(kv.errors) + sum(kv.rateLimited)} of ${sum(kv.calls)} KV calls failed`,
      figures: [
        ["load", `${seconds(elapsedMs)}, ${LOAD.loops} loops, ${LOAD.ratePerSecond} req/s, half cacheable (max-age ${PAGE_MAX_AGE_SECONDS} s), half no-store`],
        ["fault plan", `${FAULTS.errorRate * 100}% errors + ${FAULTS.rateLimitRate * 100}% 429s per KV call`],
        ["KV calls", perMethod(kv.calls)],
        ["injected errors / 429s", `${perMethod(kv.errors)} / ${perMethod(kv.rateLimited)}`],
        ["cacheable requests answered from the cache (KV)", `${hits} of ${pages.length}`],
        ["handled failures logged", handled.join(", ")],
        ["cron runs (outcome ok)", `${outpost.cronRuns.filter((r) => r.outcome === "ok").length} of ${outpost.cronRuns.length}`],
      ],
      checks: [
        check("every GET answered 200 with the right body", failed.length === 0, failed.length ? `${failed.length} failed, e.g. ${examples(failed)}` : `${samples.length} GETs`),
        check("faults were injected into KV reads and writes", injected("get") > 0 && injected("put") > 0, `get ${injected("get")}, put ${injected("put")}`),
        outpost.exceptionCheck(),
      ],
    };
  } finally {
    await outpost.stop();
    await origin.kill();
  }
}

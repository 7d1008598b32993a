// Drill: every origin is killed after the cache was warmed.
// Pass: every key cached before the outage is still served (200, right body, Cache-Status says
// stale-if-error); every key that was not cached gets a JSON 502/504 with an error code; no 500s and
// no Worker exception in workerd's log.
// The pages are fresh for 1 s only, so by the time the load starts every cached entry is stale and
// can only be served under stale-if-error (the route's default: 86,400 s). The first cron run happens
// after the kill, so the health snapshot marks every origin down: Outpost must still try them
// ("never eject everything") and fall back to the cache.
import { killAll, OriginProcess } from "./origins.mjs";
import { OutpostUnderDrill } from "./outpost.mjs";
import { get, runLoad } from "./load.mjs";
import { check, examples, seconds, summarize } from "./report.mjs";
import { api, isCorrectAnswer, jsonErrorCode, page } from "./targets.mjs";

const FULL = { keys: 20, loadSeconds: 10 };
const SHORT = { keys: 10, loadSeconds: 4 };
const LOAD = { loops: 4, ratePerSecond: 24, cronIntervalMs: 2_000 };
const PAGE_MAX_AGE_SECONDS = 1;
const ERROR_CODES = new Set(["origin_unreachable", "origin_timeout"]);

function outpostConfig(primary, backup) {
  const monitor = "drill-health";
  return {
    monitors: [{ name: monitor, path: "/health", interval_seconds: 60, timeout_ms: 1000, retries: 0 }],
    pools: [
      { name: "main", monitor, origins: [{ name: "primary", address: primary.url }] },
      { name: "backup", monitor, origins: [{ name: "backup", address: backup.url }] },
    ],
    routes: [{ name: "site", default_pools: ["main", "backup"], origin_timeout_ms: 2000, deadline_ms: 5000 }],
  };
}

/** Two of three requests ask for a warmed key; the third for a page or API call never cached. */
function targetsFor(keys) {
  return (n) => {
    if (n % 3 !== 2) return { ...page(n, keys), kind: "cached" };
    const k = Math.floor(n / 3);
    return k % 2 === 0 ? { path: `/page/never-cached-${k}`, kind: "uncached" } : { ...api(k), kind: "uncached" };
  };
}

/** What each kind of request must get while every origin is down. */
function meetsCriteria(sample) {
  if (sample.kind === "cached") return isCorrectAnswer({ ...sample, kind: "cacheable" }) && /fwd=stale/.test(sample.cacheStatus ?? "") && /stale-if-error/.test(sample.cacheStatus ?? "");
  return (sample.status === 502 || sample.status === 504) && ERROR_CODES.has(jsonErrorCode(sample));
}

export async function allOriginsDownDrill({ script, short }) {
  const plan = short ? SHORT : FULL;
  const origins = [await OriginProcess.start("primary", { maxAgeSeconds: PAGE_MAX_AGE_SECONDS }), await OriginProcess.start("backup", { maxAgeSeconds: PAGE_MAX_AGE_SECONDS })];
  const outpost = await OutpostUnderDrill.start("drill-all-down", script, outpostConfig(...origins));
  try {
    // Warm: fetch each key, then fetch it again until the cache answers (the store runs in waitUntil).
    let warmed = 0;
    for (let k = 0; k < plan.keys; k += 1) {
      const target = page(k, plan.keys);
      await get(outpost.url, target);
      for (let tries = 0; tries < 10; tries += 1) {
        const again = await get(outpost.url, target);
        if (/^Outpost; hit/.test(again.cacheStatus ?? "")) {
          warmed += 1;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const warmedAt = Date.now();
    await killAll(origins);
    await outpost.runCron(); // probes both origins: both marked down in the snapshot
    outpost.startCron(LOAD.cronIntervalMs);
    // Every entry past its max-age: from here on only stale-if-error can serve it.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, warmedAt + PAGE_MAX_AGE_SECONDS * 1000 + 200 - Date.now())));

    const { samples, elapsedMs } = await runLoad({ baseUrl: outpost.url, ...LOAD, pickTarget: targetsFor(plan.keys), durationMs: plan.loadSeconds * 1000 });
    outpost.stopCron();

    const cached = samples.filter((s) => s.kind === "cached");
    const uncached = samples.filter((s) => s.kind === "uncached");
    const status = (code) => uncached.filter((s) => s.status === code).length;
    const codes = [...new Set(uncached.map(jsonErrorCode).filter(Boolean))].join(", ");
    const markedDown = outpost.events("health_check_completed").at(0)?.down ?? [];
    const serverErrors = samples.filter((s) => s.status === 500 || s.status === 0);

    return {
      name: "every origin down",
      summary: summarize(samples, (s) => !meetsCriteria(s)),
      keyFigure: `${cached.filter(meetsCriteria).length}/${cached.length} cached served stale`,
      figures: [
        ["load", `${seconds(elapsedMs)}, ${LOAD.loops} loops, ${LOAD.ratePerSecond} req/s; 2/3 warmed keys, 1/3 never cached`],
        ["keys warmed (then every origin SIGKILLed)", `${warmed} of ${plan.keys}`],
        ["cached-key requests served stale-if-error", `${cached.filter(meetsCriteria).length} of ${cached.length}`],
        ["uncached requests: 502 / 504 / other", `${status(502)} / ${status(504)} / ${uncached.length - status(502) - status(504)}`],
        ["error codes seen", codes || "-"],
        ["health check marked down", markedDown.join(", ") || "-"],
      ],
      checks: [
        check("every key was cached before the outage", warmed === plan.keys, `${warmed} of ${plan.keys}`),
        check("every cached key served stale (200, right body, Cache-Status fwd=stale; stale-if-error)", cached.length > 0 && cached.every(meetsCriteria), examples(cached.filter((s) => !meetsCriteria(s))) || `${cached.length} requests`),
        check("every uncached key answered 502/504 JSON with an error code", uncached.length > 0 && uncached.every(meetsCriteria), examples(uncached.filter((s) => !meetsCriteria(s))) || `${uncached.length} requests`),
        check("no 500 and no request without an answer", serverErrors.length === 0, examples(serverErrors) || `${samples.length} answers`),
        outpost.exceptionCheck(),
      ],
    };
  } finally {
    await outpost.stop();
    await killAll(origins);
  }
}

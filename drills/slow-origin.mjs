// Drill: the primary answers slower than the route's origin_timeout_ms, or never.
// Three routes share three origin processes:
//   /slow/*      primary "slow" answers after 3x the timeout   -> backup answers, latency ~ timeout
//   /hang/*      primary "hung" accepts and never answers       -> backup answers, latency ~ timeout
//   /deadline/*  "hung" then "slow", deadline_ms = 1.5x timeout -> 504 origin_timeout at the deadline
// Pass: every /slow and /hang request is answered by the backup within the timeout plus
// LATENCY_SLACK_MS; every /deadline request gets a JSON 504 within the deadline plus the same slack;
// the slow origins see every attempt cancelled (the timeout aborts the subrequest instead of leaving
// it running); no Worker exception.
// The slow pools' circuit breakers would take them out after 5 failures (the default), after which
// requests skip the timeout altogether; consecutive_failures is set to its maximum (100) so that every
// request of the drill pays, and so measures, the per-attempt timeout.
import { killAll, OriginProcess } from "./origins.mjs";
import { OutpostUnderDrill } from "./outpost.mjs";
import { runLoad } from "./load.mjs";
import { check, examples, ms, percentile, seconds, summarize } from "./report.mjs";
import { api, isCorrectAnswer, jsonErrorCode } from "./targets.mjs";

const FULL = { loadSeconds: 15 };
const SHORT = { loadSeconds: 5 };
const TIMEOUT_MS = 1_000;
const DEADLINE_MS = 1_500;
/** Room for the backup's own answer and for a busy 2-core machine (workerd's p99 is ~100 ms here). */
const LATENCY_SLACK_MS = 750;
const LOAD = { loops: 6, ratePerSecond: 8 };

function outpostConfig({ slow, hung, backup }) {
  const patient = { consecutive_failures: 100, open_seconds: 30 };
  const route = (name, pools, deadlineMs) => ({ name, path: `/${name}/*`, default_pools: pools, origin_timeout_ms: TIMEOUT_MS, deadline_ms: deadlineMs });
  return {
    pools: [
      { name: "slow-pool", origins: [{ name: "slow", address: slow.url }], circuit_breaker: patient },
      { name: "hung-pool", origins: [{ name: "hung", address: hung.url }], circuit_breaker: patient },
      { name: "backup", origins: [{ name: "backup", address: backup.url }] },
    ],
    routes: [
      route("slow", ["slow-pool", "backup"], 4 * TIMEOUT_MS),
      route("hang", ["hung-pool", "backup"], 4 * TIMEOUT_MS),
      route("deadline", ["hung-pool", "slow-pool"], DEADLINE_MS),
    ],
  };
}

/** Two of five requests to /slow, two to /hang, one to /deadline; all uncacheable. */
function pickTarget(n) {
  return api(n, 50, `/${["slow", "hang", "slow", "hang", "deadline"][n % 5]}`);
}

const routeOf = (sample) => sample.path.split("/")[1];

function meetsCriteria(sample) {
  if (routeOf(sample) === "deadline") return sample.status === 504 && jsonErrorCode(sample) === "origin_timeout" && sample.latencyMs <= DEADLINE_MS + LATENCY_SLACK_MS;
  return isCorrectAnswer(sample) && sample.upstream === "backup" && sample.latencyMs <= TIMEOUT_MS + LATENCY_SLACK_MS;
}

export async function slowOriginDrill({ script, short }) {
  const plan = short ? SHORT : FULL;
  const origins = {
    slow: await OriginProcess.start("slow", { delayMs: 3 * TIMEOUT_MS }),
    hung: await OriginProcess.start("hung", { hang: true }),
    backup: await OriginProcess.start("backup"),
  };
  const outpost = await OutpostUnderDrill.start("drill-slow-origin", script, outpostConfig(origins));
  try {
    const { samples, elapsedMs } = await runLoad({ baseUrl: outpost.url, ...LOAD, pickTarget, durationMs: plan.loadSeconds * 1000 });
    // Give the last aborted attempts a moment to reach the origins as closed connections.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seen = { slow: await origins.slow.stats(), hung: await origins.hung.stats() };

    const byRoute = (route) => samples.filter((s) => routeOf(s) === route);
    const failoverSamples = [...byRoute("slow"), ...byRoute("hang")];
    const deadlineSamples = byRoute("deadline");
    const latencies = (list) => list.map((s) => s.latencyMs);
    const figure = (list) => `${ms(percentile(latencies(list), 50))} / ${ms(Math.max(0, ...latencies(list)))} (${list.length} requests)`;
    const cancelledAll = (stats) => stats.requests > 0 && stats.cancelled === stats.requests;

    return {
      name: "slow origin",
      summary: summarize(samples, (s) => !meetsCriteria(s)),
      keyFigure: `max ${ms(Math.max(0, ...latencies(failoverSamples)))} with a ${TIMEOUT_MS} ms timeout`,
      figures: [
        ["load", `${seconds(elapsedMs)}, ${LOAD.loops} loops, at most ${LOAD.ratePerSecond} req/s, all uncacheable`],
        ["origin_timeout_ms / deadline_ms (/deadline)", `${TIMEOUT_MS} / ${DEADLINE_MS}`],
        ["/slow (primary answers after 3 s): p50 / max", figure(byRoute("slow"))],
        ["/hang (primary never answers): p50 / max", figure(byRoute("hang"))],
        ["/deadline (both hang or are slow): p50 / max", figure(deadlineSamples)],
        ["attempts cancelled at the origin (slow / hung)", `${seen.slow.cancelled} of ${seen.slow.requests} / ${seen.hung.cancelled} of ${seen.hung.requests}`],
      ],
      checks: [
        check(
          `/slow and /hang answered by the backup within ${TIMEOUT_MS} + ${LATENCY_SLACK_MS} ms`,
          failoverSamples.length > 0 && failoverSamples.every(meetsCriteria),
          examples(failoverSamples.filter((s) => !meetsCriteria(s))) || `${failoverSamples.length} requests`,
        ),
        check(
          "the primary's attempt was really waited for (p50 >= timeout)",
          percentile(latencies(failoverSamples), 50) >= TIMEOUT_MS,
          `p50 ${ms(percentile(latencies(failoverSamples), 50))}: every request paid the timeout before failing over`,
        ),
        check(
          `/deadline answered 504 origin_timeout JSON within ${DEADLINE_MS} + ${LATENCY_SLACK_MS} ms`,
          deadlineSamples.length > 0 && deadlineSamples.every(meetsCriteria),
          examples(deadlineSamples.filter((s) => !meetsCriteria(s))) || `${deadlineSamples.length} requests`,
        ),
        check("timed-out attempts are cancelled at the origin", cancelledAll(seen.slow) && cancelledAll(seen.hung), `slow ${seen.slow.cancelled}/${seen.slow.requests}, hung ${seen.hung.cancelled}/${seen.hung.requests}`),
        outpost.exceptionCheck(),
      ],
    };
  } finally {
    await outpost.stop();
    await killAll(Object.values(origins));
  }
}

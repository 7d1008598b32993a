// Drill: the primary origin is killed (SIGKILL) under steady load and started again later.
// Pass: zero failed GETs, and traffic back on the primary within one health interval of its restart.
//
// Time scale. In production the cron fires every minute and a monitor probes at most every
// `interval_seconds` (>= 60, the schema's minimum), so a drill at production time scale would need
// minutes per outage. This drill declares its own health interval H (10 s full, 3 s short) and runs
// both health mechanisms on it as far as the configuration allows:
//   - the cron trigger is fired every H (standing in for the minute cron);
//   - the primary pool's circuit breaker uses open_seconds = H, so an open circuit lets a trial
//     request through to the primary once per H (production default: 30 s);
//   - the monitor keeps interval_seconds = 60, the smallest the schema accepts. run-health-checks.ts
//     probes an origin again only when that interval has passed since its last probe, so firing the
//     cron every H does not probe more often: the drill's origins are probed once before the load
//     and next about 60 s later, and the outage falls between two probes. What brings traffic back
//     within the drill is therefore the breaker's trial; the cron still runs (its snapshot is what
//     every isolate reads) and must never fail.
//     Not covered here: when a probe does see the outage, the primary stays marked down until the
//     next probe, whatever the breaker says (select-pools.ts orders it last and the backup answers,
//     so no trial reaches it): up to one monitor interval (60 s) after the restart. Measuring that
//     needs a minute or more per run; see the README's "Drills" section.
// Recovery is measured from the moment the restarted primary listens again to the first response
// it serves (Outpost-Upstream names the origin); it may take up to H after the last failed trial,
// plus the time for the next request to arrive and be answered (RECOVERY_SLACK_MS).
import { killAll, OriginProcess } from "./origins.mjs";
import { OutpostUnderDrill } from "./outpost.mjs";
import { runLoad, get } from "./load.mjs";
import { check, examples, ms, seconds, summarize } from "./report.mjs";
import { isCorrectAnswer, mixedTargets } from "./targets.mjs";

const FULL = { loadSeconds: 60, killAtSeconds: 20, restartAtSeconds: 40, healthIntervalSeconds: 10 };
const SHORT = { loadSeconds: 16, killAtSeconds: 4, restartAtSeconds: 9, healthIntervalSeconds: 3 };
const LOAD = { loops: 4, ratePerSecond: 32 };
const RECOVERY_SLACK_MS = 1_000;
/** Pages stay fresh 2 s, so cache fills keep reaching the origins throughout the outage. */
const PAGE_MAX_AGE_SECONDS = 2;

function outpostConfig(primary, backup, healthIntervalSeconds) {
  const monitor = "drill-health";
  return {
    monitors: [{ name: monitor, path: "/health", expected_codes: "2xx", interval_seconds: 60, timeout_ms: 1000, retries: 0 }],
    pools: [
      { name: "main", monitor, origins: [{ name: "primary", address: primary.url }], circuit_breaker: { consecutive_failures: 5, open_seconds: healthIntervalSeconds } },
      { name: "backup", monitor, origins: [{ name: "backup", address: backup.url }] },
    ],
    routes: [{ name: "site", default_pools: ["main", "backup"], origin_timeout_ms: 2000, deadline_ms: 5000 }],
  };
}

export async function primaryRestartDrill({ script, short }) {
  const plan = short ? SHORT : FULL;
  const H = plan.healthIntervalSeconds * 1000;
  const primary = await OriginProcess.start("primary", { maxAgeSeconds: PAGE_MAX_AGE_SECONDS });
  const backup = await OriginProcess.start("backup", { maxAgeSeconds: PAGE_MAX_AGE_SECONDS });
  const outpost = await OutpostUnderDrill.start("drill-primary-restart", script, outpostConfig(primary, backup, plan.healthIntervalSeconds));
  try {
    await outpost.runCron(); // the first probe: both origins healthy in the snapshot
    for (const path of ["/page/0", "/api/0"]) await get(outpost.url, { path, kind: "warm-up" });
    outpost.startCron(H);

    const timeline = { killedAt: undefined, restartedAt: undefined, recoveredAt: undefined };
    const loadStartedAt = performance.now();
    const sinceStart = () => performance.now() - loadStartedAt;
    const kill = setTimeout(async () => {
      await primary.kill();
      timeline.killedAt = sinceStart();
    }, plan.killAtSeconds * 1000);
    const restart = new Promise((resolve, reject) =>
      setTimeout(() => primary.restart().then(() => resolve((timeline.restartedAt = sinceStart())), reject), plan.restartAtSeconds * 1000),
    );
    restart.catch(() => {}); // awaited after the load; this only keeps Node from calling it unhandled meanwhile
    const { samples, elapsedMs } = await runLoad({
      baseUrl: outpost.url,
      ...LOAD,
      pickTarget: mixedTargets,
      durationMs: plan.loadSeconds * 1000,
      // Not recovered when the load ends: keep going a little so the drill can still measure it.
      maxDurationMs: plan.restartAtSeconds * 1000 + 2 * H + 5_000,
      until: () => timeline.recoveredAt !== undefined,
      onSample: (s) => {
        const answeredAt = s.at + s.latencyMs;
        if (timeline.recoveredAt === undefined && timeline.restartedAt !== undefined && s.upstream === "primary" && answeredAt > timeline.restartedAt) {
          timeline.recoveredAt = answeredAt;
        }
      },
    });
    clearTimeout(kill);
    await restart;
    outpost.stopCron();

    const failed = samples.filter((s) => !isCorrectAnswer(s));
    const summary = summarize(samples, (s) => !isCorrectAnswer(s));
    const recoveryMs = timeline.recoveredAt === undefined ? undefined : timeline.recoveredAt - timeline.restartedAt;
    const fetched = samples.filter((s) => s.upstream);
    const during = fetched.filter((s) => s.at >= timeline.killedAt && s.at + s.latencyMs <= timeline.restartedAt);
    const after = timeline.recoveredAt === undefined ? [] : fetched.filter((s) => s.at > timeline.recoveredAt);
    const afterOnPrimary = after.filter((s) => s.upstream === "primary").length;
    const breakerOpenings = outpost.events("circuit_state_changed").filter((e) => e.origin === "primary" && e.to === "open").length;

    return {
      name: "primary killed and restarted",
      summary,
      keyFigure: `recovery ${seconds(recoveryMs)} (H = ${plan.healthIntervalSeconds} s)`,
      figures: [
        ["load", `${seconds(elapsedMs)}, ${LOAD.loops} loops, ${LOAD.ratePerSecond} req/s, half cacheable (max-age ${PAGE_MAX_AGE_SECONDS} s), half no-store`],
        ["primary killed / listening again", `${seconds(timeline.killedAt)} / ${seconds(timeline.restartedAt)}`],
        ["health interval H (cron period = breaker open_seconds)", `${plan.healthIntervalSeconds} s (monitor interval_seconds 60)`],
        ["time to recovery (restart -> first answer from the primary)", recoveryMs === undefined ? "not recovered" : ms(recoveryMs)],
        ["fetched responses during the outage (primary / backup)", `${during.filter((s) => s.upstream === "primary").length} / ${during.filter((s) => s.upstream === "backup").length}`],
        ["fetched responses after recovery on the primary", after.length ? `${afterOnPrimary} of ${after.length}` : "-"],
        ["circuit openings (primary) / cron runs", `${breakerOpenings} / ${outpost.cronRuns.length}`],
      ],
      checks: [
        check("zero failed GETs (200 with the right body)", failed.length === 0, failed.length ? `${failed.length} failed, e.g. ${examples(failed)}` : `${samples.length} GETs`),
        check(
          `traffic back on the primary within H + ${RECOVERY_SLACK_MS} ms of its restart`,
          recoveryMs !== undefined && recoveryMs <= H + RECOVERY_SLACK_MS,
          recoveryMs === undefined ? "the primary served nothing after its restart" : `${ms(recoveryMs)} (limit ${ms(H + RECOVERY_SLACK_MS)})`,
        ),
        check("traffic stays on the primary once back (>= 95%)", after.length > 0 && afterOnPrimary >= 0.95 * after.length, `${afterOnPrimary} of ${after.length}`),
        outpost.exceptionCheck(),
      ],
    };
  } finally {
    await outpost.stop();
    await killAll([primary, backup]);
  }
}

// Drill: the origin shield fails mid-run and comes back. Outpost runs behind
// coordination-faults-worker.ts, whose wrapper around the OUTPOST_SHIELD binding (the drill's one
// deliberate fake) makes stub.fetch reject ("down") or never settle ("hang"); the shield itself is
// the real SQLite-backed OriginShield Durable Object, with a real origin and real load. The load
// runs in thirds: shield up; down for half the middle third, then hung for the other half; up again.
// Pass: every GET is a 200 with the right body throughout (a failing shield is bypassed: the
// location fetches the origin itself); no bypass while the shield is up; bypasses are counted
// (/status shield.bypassed) and shown to clients (Cache-Status detail=shield-bypass) during the
// fault; a hung shield costs at most its timeout_ms; the shield answers fills again once it is back
// (after the 2 s a failed shard rests, SHIELD_RETRY_MS); no Worker exception.
import { OriginProcess } from "./origins.mjs";
import { OutpostUnderDrill } from "./outpost.mjs";
import { runLoad } from "./load.mjs";
import { check, examples, ms, seconds, summarize } from "./report.mjs";
import { isCorrectAnswer, mixedTargets } from "./targets.mjs";

// A third must outlast a shard's rest after a failure (2 s) plus a fill, or the hung half can pass
// without a call reaching the shield. The load goes on past its end until the shield has answered
// again (bounded), so a slow recovery shows as a longer run, not a missed check.
const FULL = { loadSeconds: 18, recoveryGraceSeconds: 6 };
const SHORT = { loadSeconds: 9, recoveryGraceSeconds: 3 };
const LOAD = { loops: 4, ratePerSecond: 32 };
const SHIELD = { shards: 2, timeout_ms: 1000 };
/** What a hung call may add to an answer beyond timeout_ms (the origin fetch after it, a loaded machine). */
const HANG_MARGIN_MS = 1000;
/** Pages stay fresh 2 s, so the 20 pages of the load need a fill (through the shield) several times a second. */
const PAGE_MAX_AGE_SECONDS = 2;
const TOKEN = "drill-admin-token-0123456789";
const NAME = "drill-shield-down";
const BYPASS = "detail=shield-bypass";

function outpostConfig(origin) {
  return {
    pools: [{ name: "main", origins: [{ name: "origin", address: origin.url }], shield: SHIELD }],
    routes: [{ name: "site", default_pools: ["main"], origin_timeout_ms: 2000, deadline_ms: 5000 }],
  };
}

const sleepUntil = (at) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));

const shieldStatus = async (outpost) => (await outpost.admin("/status")).body?.shield ?? {};

const switchShield = (outpost, mode) => fetch(`${outpost.url}/__drill/shield?mode=${mode}`, { method: "POST" }).then((r) => r.json());

/** What the Server-Timing `shield` phase says: hit, miss, collapsed, stale, or bypass:<reason>; null when no fill asked the shield. */
function shieldPhase(sample) {
  return /(?:^|,\s*)shield;[^,]*desc="([^"]*)"/.exec(sample.serverTiming ?? "")?.[1] ?? null;
}

/** "3 unreachable, 5 recent-failure" for the bypasses among `samples`. */
function bypassReasons(samples) {
  const counts = new Map();
  for (const phase of samples.map(shieldPhase).filter((p) => p?.startsWith("bypass:"))) counts.set(phase.slice(7), (counts.get(phase.slice(7)) ?? 0) + 1);
  return [...counts].map(([reason, n]) => `${n} ${reason}`).join(", ") || "none";
}

export async function shieldDownDrill({ script, short }) {
  const plan = short ? SHORT : FULL;
  const origin = await OriginProcess.start("origin", { maxAgeSeconds: PAGE_MAX_AGE_SECONDS });
  const outpost = await OutpostUnderDrill.start(
    NAME,
    script,
    outpostConfig(origin),
    { OUTPOST_ADMIN_TOKEN: { type: "text", value: TOKEN }, OUTPOST_SHIELD: { type: "durable-object", worker: NAME, exportName: "OriginShield" } },
    { exports: { OriginShield: { type: "durable-object", storage: "sqlite" } } },
  );
  try {
    const thirdMs = (plan.loadSeconds * 1000) / 3;
    let recovered = false;
    let afterRecovery;
    const startedAt = performance.now();
    const loading = runLoad({
      baseUrl: outpost.url,
      ...LOAD,
      pickTarget: mixedTargets,
      durationMs: plan.loadSeconds * 1000,
      maxDurationMs: (plan.loadSeconds + plan.recoveryGraceSeconds) * 1000,
      until: () => recovered,
    });
    const at = () => performance.now() - startedAt;

    await sleepUntil(startedAt + thirdMs);
    const downAt = at();
    const beforeFault = await shieldStatus(outpost);
    await switchShield(outpost, "down");
    await sleepUntil(startedAt + thirdMs * 1.5);
    const hangAt = at();
    const whileDown = await switchShield(outpost, "hang");
    await sleepUntil(startedAt + thirdMs * 2);
    const upAt = at();
    const whileFaulty = await switchShield(outpost, "up");
    const atRecovery = await shieldStatus(outpost);
    // Watch for the shield answering again; the load stops at its end once it has (or at the bound).
    const watching = (async () => {
      while (!recovered && at() < (plan.loadSeconds + plan.recoveryGraceSeconds) * 1000) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const now = await shieldStatus(outpost);
        if ((now.answered ?? 0) > (atRecovery.answered ?? 0)) {
          recovered = true;
          afterRecovery = { at: at(), ...now };
        }
      }
    })();
    const { samples, elapsedMs } = await loading;
    recovered = true;
    await watching;
    const final = await shieldStatus(outpost);
    const counters = await switchShield(outpost, "up");

    const failed = samples.filter((s) => !isCorrectAnswer(s));
    const answeredBy = (s) => s.at + s.latencyMs;
    const beforeFaultSamples = samples.filter((s) => answeredBy(s) < downAt);
    const downSamples = samples.filter((s) => s.at >= downAt && s.at < hangAt);
    const hangSamples = samples.filter((s) => s.at >= hangAt && s.at < upAt);
    const faultSamples = [...downSamples, ...hangSamples];
    const afterSamples = samples.filter((s) => s.at >= upAt);
    const bypassedIn = (list) => list.filter((s) => (s.cacheStatus ?? "").includes(BYPASS));
    const shieldedIn = (list) => list.filter((s) => /^(hit|miss|collapsed|stale)$/.test(shieldPhase(s) ?? ""));
    const timedOut = samples.filter((s) => shieldPhase(s) === "bypass:timeout");
    const slowestInFault = Math.max(0, ...faultSamples.map((s) => s.latencyMs));
    const bypassedDuringFault = (atRecovery.bypassed ?? 0) - (beforeFault.bypassed ?? 0);
    const answeredAfter = (final.answered ?? 0) - (atRecovery.answered ?? 0);
    const answeredAgainAfterMs = afterRecovery ? afterRecovery.at - upAt : undefined;
    const logged = outpost.events("origin_shield_bypassed").length;

    return {
      name: "origin shield down",
      summary: summarize(samples, (s) => !isCorrectAnswer(s)),
      keyFigure: `${bypassedDuringFault} bypasses while down/hung, ${failed.length} failed requests`,
      figures: [
        [
          "load",
          `${seconds(elapsedMs)}, ${LOAD.loops} loops, ${LOAD.ratePerSecond} req/s, half cacheable (max-age=${PAGE_MAX_AGE_SECONDS}), half no-store; shield (${SHIELD.shards} shards, timeout ${SHIELD.timeout_ms} ms) down ${seconds(downAt)}-${seconds(hangAt)}, hung ${seconds(hangAt)}-${seconds(upAt)}`,
        ],
        ["shield calls (drill wrapper): all / rejected / hung", `${counters.calls} / ${counters.rejected} / ${counters.hung}`],
        ["/status shield answered / bypassed: before the fault", `${beforeFault.answered ?? "?"} / ${beforeFault.bypassed ?? "?"}`],
        ["... when it came back", `${atRecovery.answered ?? "?"} / ${atRecovery.bypassed ?? "?"}`],
        ["... at the end", `${final.answered ?? "?"} / ${final.bypassed ?? "?"}`],
        ["answers through the shield / shield-bypass: up, down, hung, back up", [beforeFaultSamples, downSamples, hangSamples, afterSamples].map((l) => `${shieldedIn(l).length}/${bypassedIn(l).length}`).join(", ")],
        ["bypass reasons (Server-Timing): down / hung / back up", `${bypassReasons(downSamples)} / ${bypassReasons(hangSamples)} / ${bypassReasons(afterSamples)}`],
        ["slowest answer during the fault", `${ms(slowestInFault)} (timeout_ms ${SHIELD.timeout_ms})`],
        ["bypasses logged (origin_shield_bypassed, at most once a minute)", logged],
        ["shield answered again", answeredAgainAfterMs === undefined ? "not seen" : `${ms(answeredAgainAfterMs)} after it came back (a shard rests 2 s after its last failure)`],
      ],
      checks: [
        check("every GET answered 200 with the right body", failed.length === 0, failed.length ? `${failed.length} failed, e.g. ${examples(failed)}` : `${samples.length} GETs`),
        check(
          "the shield answered fills while up, with no bypass",
          beforeFault.answered > 0 && beforeFault.bypassed === 0 && bypassedIn(beforeFaultSamples).length === 0,
          `${beforeFault.answered} answered, ${beforeFault.bypassed} bypassed`,
        ),
        check(
          "while down or hung, fills bypassed it: counted, logged and shown",
          whileDown.rejected > 0 && bypassedDuringFault > 0 && logged > 0 && bypassedIn(faultSamples).length > 0,
          `${whileDown.rejected} calls rejected; ${bypassedDuringFault} counted (/status), ${logged} logged, ${bypassedIn(faultSamples).length} responses with ${BYPASS}`,
        ),
        check(
          "a hung shield cost at most timeout_ms",
          whileFaulty.hung > 0 && timedOut.length > 0 && slowestInFault <= SHIELD.timeout_ms + HANG_MARGIN_MS,
          `${whileFaulty.hung} calls hung, ${timedOut.length} answers with bypass:timeout, slowest ${ms(slowestInFault)}`,
        ),
        check("the shield answered again after it came back", answeredAfter > 0, `${answeredAfter} answered after recovery`),
        outpost.exceptionCheck(),
      ],
    };
  } finally {
    await outpost.stop();
    await origin.kill();
  }
}

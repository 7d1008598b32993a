// Drill: the purge coordinator goes down mid-run and comes back. Outpost runs behind
// coordination-faults-worker.ts, whose wrapper makes every call on the coordinator's stub reject
// while "down" (the drill's one deliberate fake); the coordinator itself is the real SQLite-backed
// Durable Object, with real origins and real load.
// Pass: every GET is a 200 with the right body throughout; a purge while the coordinator is up
// gets an epoch, a purge while it is down still answers 200 (recorded in the KV ledger only), a
// purge after it is back gets the next epoch; the fallbacks are counted (/status) and logged; no
// Worker exception.
import { OriginProcess } from "./origins.mjs";
import { OutpostUnderDrill } from "./outpost.mjs";
import { runLoad } from "./load.mjs";
import { check, examples, seconds, summarize } from "./report.mjs";
import { isCorrectAnswer, mixedTargets } from "./targets.mjs";

const FULL = { loadSeconds: 15 };
const SHORT = { loadSeconds: 6 };
const LOAD = { loops: 4, ratePerSecond: 32 };
const TOKEN = "drill-admin-token-0123456789";
const NAME = "drill-coordinator-down";

function outpostConfig(origin) {
  return {
    coordination: { purge_coordinator: true, purge_poll_interval_ms: 1000 },
    pools: [{ name: "main", origins: [{ name: "origin", address: origin.url }] }],
    routes: [{ name: "site", default_pools: ["main"], origin_timeout_ms: 2000, deadline_ms: 5000 }],
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const purge = (outpost, body) => outpost.admin("/purge", { method: "POST", body: JSON.stringify(body) });
const switchCoordinator = (outpost, down) => fetch(`${outpost.url}/__drill/coordinator?down=${down ? 1 : 0}`, { method: "POST" }).then((r) => r.json());

export async function coordinatorDownDrill({ script, short }) {
  const plan = short ? SHORT : FULL;
  const origin = await OriginProcess.start("origin");
  const outpost = await OutpostUnderDrill.start(
    NAME,
    script,
    outpostConfig(origin),
    { OUTPOST_ADMIN_TOKEN: { type: "text", value: TOKEN }, OUTPOST_PURGE_COORDINATOR: { type: "durable-object", worker: NAME, exportName: "PurgeCoordinator" } },
    { exports: { PurgeCoordinator: { type: "durable-object", storage: "sqlite" } } },
  );
  try {
    const third = (plan.loadSeconds * 1000) / 3;
    const before = await purge(outpost, { prefixes: ["127.0.0.1/page"] });
    const loading = runLoad({ baseUrl: outpost.url, ...LOAD, pickTarget: mixedTargets, durationMs: plan.loadSeconds * 1000 });
    await sleep(third);
    await switchCoordinator(outpost, true);
    const during = await purge(outpost, { prefixes: ["127.0.0.1/page"] });
    await sleep(third);
    const counters = await switchCoordinator(outpost, false);
    const after = await purge(outpost, { prefixes: ["127.0.0.1/page"] });
    const { samples, elapsedMs } = await loading;
    const status = await outpost.admin("/status");
    const receipt = await outpost.admin(`/purge/${before.body?.result?.id}`);
    const coordinator = status.body?.purges?.coordinator ?? {};

    const failed = samples.filter((s) => !isCorrectAnswer(s));
    const logged = outpost.events("purge_coordinator_unavailable").length;
    return {
      name: "purge coordinator down",
      summary: summarize(samples, (s) => !isCorrectAnswer(s)),
      keyFigure: `${coordinator.fallbacks ?? "?"} fallbacks to KV, ${failed.length} failed requests`,
      figures: [
        ["load", `${seconds(elapsedMs)}, ${LOAD.loops} loops, ${LOAD.ratePerSecond} req/s, half cacheable, half no-store; coordinator down for the middle third`],
        ["coordinator calls / failed while down", `${counters.calls} / ${counters.failed}`],
        ["purge epochs (up, down, back up)", `${before.body?.result?.epoch ?? "-"}, ${during.body?.result?.epoch ?? "-"}, ${after.body?.result?.epoch ?? "-"}`],
        ["purge while down", `${during.status} ${during.body?.result?.coordinator ?? JSON.stringify(during.body)}`],
        ["fallbacks counted (/status) / logged", `${coordinator.fallbacks ?? "?"} / ${logged}`],
        ["receipt of the first purge", `${receipt.status}, observed by ${receipt.body?.result?.observed?.map((l) => l.colo).join(", ") || "-"}`],
      ],
      checks: [
        check("every GET answered 200 with the right body", failed.length === 0, failed.length ? `${failed.length} failed, e.g. ${examples(failed)}` : `${samples.length} GETs`),
        check("a purge while the coordinator is up gets epoch 1", before.status === 200 && before.body?.result?.epoch === 1, JSON.stringify(before.body?.result?.epoch)),
        check("a purge while it is down still succeeds, in the KV ledger", during.status === 200 && during.body?.success === true && during.body?.result?.coordinator?.startsWith("unavailable"), `${during.status}`),
        check("a purge after it is back gets epoch 2", after.status === 200 && after.body?.result?.epoch === 2, JSON.stringify(after.body?.result?.epoch)),
        check("the fallbacks were counted and logged", coordinator.fallbacks > 0 && logged > 0, `${coordinator.fallbacks} counted, ${logged} logged`),
        check("the receipt answers once the coordinator is back", receipt.status === 200 && receipt.body?.success === true, `${receipt.status}`),
        outpost.exceptionCheck(),
      ],
    };
  } finally {
    await outpost.stop();
    await origin.kill();
  }
}

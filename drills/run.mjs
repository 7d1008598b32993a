#!/usr/bin/env node
// `npm run drill [-- --short] [-- --only <name>]`: failure drills against Outpost on the Miniflare
// Node API with real origin processes and real load on 127.0.0.1 (see README, "Drills"):
//   primary-restart  the primary origin is killed under load and restarted
//   all-down         every origin is killed: cached keys served stale, the rest get JSON 502/504
//   slow-origin      the primary answers too slowly or hangs: the timeout holds, the backup answers
//   kv-faults        KV calls fail or are rate limited: requests are still served from the origin
//   coordinator-down the purge coordinator goes down mid-run: purges and requests fall back to KV
//   shield-down      the origin shield rejects, then hangs, mid-run: fills bypass it to the origin
// Each drill prints its table; the run exits 1 when any drill misses its criteria.
// --short runs a short variant of every drill (CI: under a minute in all); the full run takes ~2 minutes.
import { parseArgs } from "node:util";
import { bundleWorker } from "../scripts/worker-bundle.mjs";
import { allOriginsDownDrill } from "./all-origins-down.mjs";
import { coordinatorDownDrill } from "./coordinator-down.mjs";
import { kvFaultsDrill } from "./kv-faults.mjs";
import { primaryRestartDrill } from "./primary-restart.mjs";
import { check, printDrill, printSummary, passed } from "./report.mjs";
import { shieldDownDrill } from "./shield-down.mjs";
import { slowOriginDrill } from "./slow-origin.mjs";

const DRILLS = {
  "primary-restart": { run: primaryRestartDrill, bundle: "outpost" },
  "all-down": { run: allOriginsDownDrill, bundle: "outpost" },
  "slow-origin": { run: slowOriginDrill, bundle: "outpost" },
  "kv-faults": { run: kvFaultsDrill, bundle: "kv-faults" },
  "coordinator-down": { run: coordinatorDownDrill, bundle: "coordination-faults" },
  "shield-down": { run: shieldDownDrill, bundle: "coordination-faults" },
};
const BUNDLES = {
  outpost: () => bundleWorker("drill-build"),
  "kv-faults": () => bundleWorker("drill-kv-faults-build", { entry: "drills/kv-faults-worker.ts" }),
  "coordination-faults": () => bundleWorker("drill-coordination-build", { entry: "drills/coordination-faults-worker.ts" }),
};

function parseDrillArgs(argv) {
  const { values } = parseArgs({ args: argv, options: { short: { type: "boolean", default: false }, only: { type: "string", multiple: true } } });
  const selected = values.only ?? Object.keys(DRILLS);
  const unknown = selected.filter((name) => !DRILLS[name]);
  if (unknown.length) throw new Error(`unknown drill ${unknown.join(", ")}; drills: ${Object.keys(DRILLS).join(", ")}`);
  return { short: values.short, selected };
}

/** A drill that throws (an origin that would not start, say) is reported as failed; the others still run. */
async function runDrill(name, options) {
  try {
    return await DRILLS[name].run(options);
  } catch (error) {
    const summary = { requests: 0, failures: 0, stale: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
    return { name, summary, figures: [], checks: [check("the drill ran to the end", false, error.stack ?? String(error))] };
  }
}

async function main() {
  let args;
  try {
    args = parseDrillArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`drill: ${error.message}\nusage: npm run drill -- [--short] [--only <name>]...`);
    process.exit(2);
  }
  const startedAt = performance.now();
  const variant = args.short ? "short" : "full";
  console.log(`drill: ${variant} run of ${args.selected.join(", ")}; bundling Outpost...`);
  const scripts = {};
  for (const name of new Set(args.selected.map((drill) => DRILLS[drill].bundle))) scripts[name] = BUNDLES[name]();

  const results = [];
  for (const name of args.selected) {
    console.log(`\ndrill: ${name}...`);
    const result = await runDrill(name, { script: scripts[DRILLS[name].bundle], short: args.short });
    printDrill(result);
    results.push(result);
  }
  printSummary(results, { variant, elapsedMs: performance.now() - startedAt });
  console.log("\ndrill: each drill's workerd and Miniflare log is in .wrangler/drill-logs/");
  const failedDrills = results.filter((r) => !passed(r)).map((r) => r.name);
  if (failedDrills.length) console.error(`\ndrill: FAILED: ${failedDrills.join(", ")}`);
  process.exitCode = failedDrills.length ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

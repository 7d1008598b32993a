#!/usr/bin/env node
// `npm run size`: bundles the worker exactly as `wrangler deploy --env production` would (--dry-run, nothing is
// uploaded) and fails when the gzip size exceeds the budget.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_GZIP_BYTES = 100 * 1024;
const outdir = join(".wrangler", "dry-run");
rmSync(outdir, { recursive: true, force: true });
execFileSync(process.execPath, ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--env", "production", "--outdir", outdir], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
const files = readdirSync(outdir).filter((name) => name.endsWith(".js"));
const bundle = Buffer.concat(files.map((name) => readFileSync(join(outdir, name))));
const gzipBytes = gzipSync(bundle, { level: 9 }).length;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(`worker bundle: ${kib(bundle.length)} raw, ${kib(gzipBytes)} gzip (budget ${kib(BUDGET_GZIP_BYTES)} gzip)`);
if (gzipBytes > BUDGET_GZIP_BYTES) {
  console.error(`bundle is over budget by ${kib(gzipBytes - BUDGET_GZIP_BYTES)}`);
  process.exit(1);
}

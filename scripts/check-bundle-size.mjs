#!/usr/bin/env node
// `npm run size`: bundles the worker exactly as `wrangler deploy --env production` would (--dry-run,
// nothing is uploaded) and fails when the gzip size exceeds the budget.
import { gzipSync } from "node:zlib";
import { bundleWorker } from "./worker-bundle.mjs";

const BUDGET_GZIP_BYTES = 100 * 1024;
const bundle = Buffer.from(bundleWorker("dry-run"));
const gzipBytes = gzipSync(bundle, { level: 9 }).length;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(`worker bundle: ${kib(bundle.length)} raw, ${kib(gzipBytes)} gzip (budget ${kib(BUDGET_GZIP_BYTES)} gzip)`);
if (gzipBytes > BUDGET_GZIP_BYTES) {
  console.error(`bundle is over budget by ${kib(gzipBytes - BUDGET_GZIP_BYTES)}`);
  process.exit(1);
}

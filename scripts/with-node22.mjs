#!/usr/bin/env node
// Runs a script under Node >= 22.12 (wrangler and vitest 5 need it), fetching Node 22 from the npm
// registry once when the system Node is older. Usage: node scripts/with-node22.mjs <script> [args...]
import { spawn } from "node:child_process";
import { resolveNode22 } from "./node22.mjs";

const [script, ...args] = process.argv.slice(2);
if (!script) {
  process.stderr.write("usage: node scripts/with-node22.mjs <script> [args...]\n");
  process.exit(2);
}
const node = resolveNode22();
const child = spawn(node, [script, ...args], {
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" },
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});

#!/usr/bin/env node
// `npm run conformance`: the public HTTP caching test suite (http-cache-tests, the suite behind
// cache-tests.fyi) against Outpost. Its origin server runs on 127.0.0.1, Outpost runs in front of it
// through the `npm start -- --origin` interface (wrangler dev, default cache policy), and the suite's
// client sends every test through Outpost. Prints Outpost's pass counts next to the published
// results of other caches (shipped in the same package), writes conformance/latest.json, and exits 1
// when Outpost passes fewer required tests than conformance/baseline.json records. Required failures
// not explained in baseline.json's known_failures are named (and listed ones that now pass).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { unpackFromRegistry } from "../scripts/node22.mjs";

const SUITE_VERSION = "0.4.5";
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const suiteDir = join(projectRoot, ".cache", `http-cache-tests-${SUITE_VERSION}`);
const resultsDir = join(projectRoot, "conformance");
const READY_TIMEOUT_MS = 60_000;

const suiteModule = (path) => import(pathToFileURL(join(suiteDir, path)).href);

/** The suite's own origin server, bound to loopback (its server.mjs listens on every interface). */
async function startSuiteOrigin() {
  const handlers = {
    config: (await suiteModule("server/handle-config.mjs")).default,
    test: (await suiteModule("server/handle-test.mjs")).default,
    state: (await suiteModule("server/handle-state.mjs")).default,
  };
  const server = createServer((request, response) => {
    const segments = new URL(request.url, "http://origin").pathname.split("/").slice(1);
    const handler = handlers[segments.shift()];
    if (handler) handler(segments, request, response);
    else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startOutpost(originUrl, port) {
  const child = spawn(process.execPath, [join(projectRoot, "scripts", "start.mjs"), "--origin", originUrl, "--port", String(port)], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!output.includes("Ready on")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Outpost did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { stop: () => process.kill(-child.pid, "SIGINT") };
}

/** Required tests Outpost fails, by the suite's own verdict rules. */
function failingRequired(suites, results, determineTestResult) {
  const failing = [];
  for (const suite of suites) {
    for (const test of suite.tests) {
      if ((test.kind ?? "required") !== "required" || test.browser_only) continue;
      const verdict = determineTestResult(suites, test.id, results);
      if (verdict[2] !== "-" && verdict[2] !== "✅") failing.push(test.id);
    }
  }
  return failing;
}

/** Pass counts by the suite's own verdict rules (lib/display.mjs); "check" tests are informational. */
function score(suites, results, determineTestResult) {
  const counts = { required: { passed: 0, total: 0 }, optimal: { passed: 0, total: 0 } };
  for (const suite of suites) {
    for (const test of suite.tests) {
      const kind = test.kind ?? "required";
      if (kind === "check" || test.browser_only) continue;
      const verdict = determineTestResult(suites, test.id, results);
      if (verdict[2] === "-") continue; // untested by that implementation
      counts[kind].total += 1;
      if (verdict[2] === "✅") counts[kind].passed += 1;
    }
  }
  return counts;
}

function percent({ passed, total }) {
  return total === 0 ? "-" : `${((100 * passed) / total).toFixed(1)}%`;
}

async function main() {
  if (!existsSync(join(suiteDir, "package.json"))) {
    console.log(`conformance: fetching http-cache-tests@${SUITE_VERSION} from the npm registry (once)...`);
    unpackFromRegistry(`http-cache-tests@${SUITE_VERSION}`, suiteDir);
  }
  // The suite's test list, loaded once (its module exports one shared array; the CLI appends the
  // Surrogate-Control tests to it, and so do we, exactly once).
  const tests = [...(await suiteModule("tests/index.mjs")).default, (await suiteModule("tests/surrogate-control.mjs")).default];
  const origin = await startSuiteOrigin();
  const port = await freePort();
  const outpost = await startOutpost(origin.url, port);
  let results;
  try {
    const { runTests, getResults } = await suiteModule("client/runner.mjs");
    console.log(`conformance: running ${tests.reduce((n, s) => n + s.tests.length, 0)} tests through Outpost (http://127.0.0.1:${port})...`);
    await runTests(tests, fetch, false, `http://127.0.0.1:${port}`);
    results = getResults();
  } finally {
    outpost.stop();
    origin.server.closeAllConnections();
    origin.server.close();
  }

  const { determineTestResult } = await suiteModule("lib/display.mjs");
  const peers = (await suiteModule("results/index.mjs")).default.filter((peer) => peer.type !== "browser");
  const rows = [{ name: "Outpost", counts: score(tests, results, determineTestResult) }];
  for (const peer of peers) {
    const peerResults = JSON.parse(readFileSync(join(suiteDir, "results", peer.file), "utf8"));
    rows.push({ name: `${peer.name} ${peer.version ?? ""}`.trim(), counts: score(tests, peerResults, determineTestResult) });
  }

  console.log("\n| cache | required passed | required % | optimal passed | optimal % |");
  console.log("|---|---|---|---|---|");
  for (const { name, counts } of rows) {
    console.log(`| ${name} | ${counts.required.passed}/${counts.required.total} | ${percent(counts.required)} | ${counts.optimal.passed}/${counts.optimal.total} | ${percent(counts.optimal)} |`);
  }

  mkdirSync(resultsDir, { recursive: true });
  const ours = rows[0].counts;
  writeFileSync(join(resultsDir, "latest.json"), `${JSON.stringify({ suite: `http-cache-tests@${SUITE_VERSION}`, outpost: ours, peers: rows.slice(1), results }, null, 2)}\n`);
  const baselineFile = join(resultsDir, "baseline.json");
  if (existsSync(baselineFile)) {
    const baseline = JSON.parse(readFileSync(baselineFile, "utf8"));
    // Every failure should be a known one, with its reason recorded in baseline.json.
    const known = baseline.known_failures ?? {};
    const failing = failingRequired(tests, results, determineTestResult);
    const unexplained = failing.filter((id) => !(id in known));
    const fixed = Object.keys(known).filter((id) => !failing.includes(id));
    if (unexplained.length > 0) console.log(`\nconformance: required failures not in baseline.json's known_failures: ${unexplained.join(", ")}`);
    if (fixed.length > 0) console.log(`\nconformance: now passing, remove from known_failures: ${fixed.join(", ")}`);
    if (ours.required.passed < baseline.required_passed) {
      console.error(`\nconformance: ${ours.required.passed} required tests passed, below the recorded ${baseline.required_passed}`);
      process.exitCode = 1;
      return;
    }
    console.log(`\nconformance: ${ours.required.passed} required tests passed (recorded minimum ${baseline.required_passed})`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

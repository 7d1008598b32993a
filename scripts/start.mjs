#!/usr/bin/env node
// `npm start -- [--origin <url> ...] [--health-path <path>] [--port <n>]`: runs Outpost locally with
// `wrangler dev`, after the same configuration check as `npm run check` (it refuses to start on a
// broken configuration and prints every problem). Without --origin it also starts the bundled demo
// origin and uses wrangler.toml's demo config. With --origin, the first URL is the primary and the
// rest are backups, in order (OUTPOST_ORIGINS), each health-checked with GET / (or --health-path).
// Every OUTPOST_* environment variable (for example OUTPOST_ADMIN_TOKEN) is passed to the worker.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { resolveNode22 } from "./node22.mjs";
import { runConfigCheck } from "./run-check.mjs";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = `usage: npm start -- [--origin <url>]... [--health-path <path>] [--port <n>]

  --origin <url>        an origin to put Outpost in front of; repeat for backups (tried in order)
  --health-path <path>  with --origin: the path each origin is health-checked on every 60 s
                        (GET, any 2xx or 3xx is healthy; default /)
  --port <n>            where Outpost listens on 127.0.0.1 (default 8787)

Without --origin, Outpost runs wrangler.toml's demo config in front of the bundled demo origin.
Environment variables named OUTPOST_* (e.g. OUTPOST_ADMIN_TOKEN) are passed to the worker.`;

export function parseStartArgs(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        origin: { type: "string", multiple: true },
        "health-path": { type: "string" },
        port: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    return { problems: [error.message] };
  }
  const { values } = parsed;
  if (values.help) return { help: true, problems: [] };
  const problems = [];
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`--port: "${values.port}" is not a port number (1-65535)`);
  const origins = values.origin ?? [];
  origins.forEach((origin, index) => {
    let url;
    try {
      url = new URL(origin);
    } catch {
      problems.push(`--origin #${index + 1}: "${origin}" is not an absolute URL (for example http://127.0.0.1:3000)`);
      return;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") problems.push(`--origin #${index + 1}: "${origin}" must use http or https`);
    if (url.search || url.hash) problems.push(`--origin #${index + 1}: "${origin}" must not contain a query or fragment`);
    if (origin.includes(",")) problems.push(`--origin #${index + 1}: "${origin}" must not contain a comma`);
  });
  const healthPath = values["health-path"];
  if (healthPath !== undefined) {
    if (origins.length === 0) problems.push("--health-path: only with --origin (wrangler.toml's monitors set the demo's checks)");
    if (!healthPath.startsWith("/")) problems.push(`--health-path: "${healthPath}" must start with /`);
  }
  return { port, origins, problems, ...(healthPath === undefined ? {} : { healthPath }) };
}

/** The env file handed to wrangler dev: --origin list plus every OUTPOST_* variable of our environment. */
export function workerVariables(origins, environment, healthPath) {
  const variables = Object.fromEntries(Object.entries(environment).filter(([name]) => name.startsWith("OUTPOST_") && name !== "OUTPOST_NODE_CACHE"));
  if (origins.length > 0) variables.OUTPOST_ORIGINS = origins.join(",");
  if (healthPath !== undefined) variables.OUTPOST_HEALTH_PATH = healthPath;
  return variables;
}

function toDotEnv(variables) {
  return Object.entries(variables)
    .map(([name, value]) => `${name}=${JSON.stringify(String(value))}`)
    .join("\n");
}

/**
 * wrangler dev does not run cron triggers by itself: fire "* * * * *" every minute, like production.
 * The first run is retried every 5 s until wrangler answers, so a previous run's health verdicts are
 * checked again as soon as the worker is up.
 */
function scheduleCron(port) {
  const fire = () =>
    fetch(`http://127.0.0.1:${port}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`).then(
      (response) => (response.body?.cancel(), true),
      () => false, // not ready yet
    );
  const first = () => fire().then((done) => done || setTimeout(first, 5_000).unref());
  setTimeout(first, 5_000).unref();
  setInterval(fire, 60_000).unref();
}

function main() {
  const args = parseStartArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (args.problems.length > 0) {
    for (const problem of args.problems) console.error(`outpost: ${problem}`);
    console.error(`\n${USAGE}`);
    process.exit(2);
  }
  const node = resolveNode22();
  const variables = workerVariables(args.origins, process.env, args.healthPath);
  // wrangler dev runs the top level of wrangler.toml: check it as it will run, before starting anything.
  if (!runConfigCheck({ environment: null, origins: variables.OUTPOST_ORIGINS, healthPath: variables.OUTPOST_HEALTH_PATH }, { node })) {
    console.error("\noutpost: not starting: fix the configuration above (`npm run check` shows the same report).");
    process.exit(1);
  }
  const children = [];
  const stateDir = join(projectRoot, ".wrangler", "outpost-start");
  const envFile = join(stateDir, `${process.pid}.env`);

  const stopAll = (code) => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    rmSync(envFile, { force: true });
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stopAll(0));

  mkdirSync(stateDir, { recursive: true });
  if (args.origins.length === 0) {
    // One process per demo origin, so either can be stopped (by its PID) to watch failover:
    // `kill $(cat .wrangler/outpost-start/demo-a.pid)`.
    for (const spec of ["demo-a=8788", "demo-b=8789"]) {
      const demo = spawn(process.execPath, [join(projectRoot, "scripts", "demo-origin.mjs"), spec], { stdio: "inherit" });
      demo.on("exit", (code) => {
        if (code) console.error(`outpost: demo origin ${spec} exited with code ${code} (is its port in use?)`);
      });
      const name = spec.split("=")[0];
      writeFileSync(join(stateDir, `${name}.pid`), `${demo.pid}\n`);
      console.log(`outpost: demo origin ${spec.replace("=", " on port ")} has pid ${demo.pid} (also in .wrangler/outpost-start/${name}.pid)`);
      children.push(demo);
    }
  }

  // Mode 0600: the file may carry OUTPOST_ADMIN_TOKEN.
  writeFileSync(envFile, toDotEnv(variables) + "\n", { mode: 0o600 });
  const envFiles = [".dev.vars", ".env"].filter((name) => existsSync(join(projectRoot, name))).slice(0, 1);

  const wranglerArgs = [
    join(projectRoot, "node_modules", "wrangler", "bin", "wrangler.js"),
    "dev",
    "--ip", "127.0.0.1",
    "--port", String(args.port),
    "--show-interactive-dev-session=false",
    // Lets us fire the cron trigger locally, as Cloudflare does every minute in production.
    "--test-scheduled",
    ...[...envFiles, envFile].flatMap((file) => ["--env-file", file]),
  ];
  console.log(
    args.origins.length > 0
      ? `outpost: starting on http://127.0.0.1:${args.port} in front of ${args.origins.map((o, i) => `${o} (${i === 0 ? "primary" : `backup ${i}`})`).join(", ")}`
      : `outpost: starting on http://127.0.0.1:${args.port} in front of the demo origin (wrangler.toml's demo config)`,
  );
  const wrangler = spawn(node, wranglerArgs, {
    cwd: projectRoot,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      // Offline-safe defaults: wrangler would otherwise try to download request.cf data and send metrics.
      CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? (process.env.CLOUDFLARE_CF_FETCH_PATH ? "true" : "false"),
      WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false",
    },
  });
  children.push(wrangler);
  wrangler.on("exit", (code) => stopAll(code ?? 0));
  scheduleCron(args.port);
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) main();

// Outpost for one drill: the bundled worker on the Miniflare Node API with a real (in-memory) KV
// namespace and the Cache API, every workerd and Miniflare log line captured (and written to
// .wrangler/drill-logs/<worker>.log for a post-mortem), and the cron trigger fired by hand.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel } from "miniflare";
import { outpostEnv, startWorker } from "../scripts/worker-bundle.mjs";
import { check } from "./report.mjs";

const LOG_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", ".wrangler", "drill-logs");

/**
 * Log lines that mean the Worker failed rather than handled a failure: an exception that escaped a
 * handler (workerd reports "uncaught exception" only in verbose mode, hence `verbose: true` below),
 * or Outpost's error boundary catching something it did not expect (`unhandled_error`).
 */
const WORKER_EXCEPTION = /uncaught exception|Uncaught|unhandled_error/;
/**
 * workerd (verbose) reports every refused origin connection as an "uncaught exception" with
 * "Network connection lost.", even when the Worker catches the fetch's rejection (checked with a
 * three-line worker that catches it). Those two lines are runtime noise, but only as long as Outpost
 * handled that many failed connections: exceptions() checks the count, so a rejection Outpost really
 * left uncaught still shows.
 */
const LOST_CONNECTION = /^uncaught exception; (source = Uncaught \(in promise\); stack = Error: Network connection lost\.|exception = .*jsg\.Error: Network connection lost\.)/;
const LOST_CONNECTION_REPORT = /^uncaught exception; source = Uncaught \(in promise\); stack = Error: Network connection lost\./;

export class OutpostUnderDrill {
  /**
   * @param {string} name worker name (one per drill)
   * @param {string} script the bundle (bundleWorker)
   * @param {object} config the OUTPOST var
   * @param {object} extraEnv more Miniflare 5 bindings (the KV drill's fault plan)
   * @param {object} workerConfig more worker config keys (the coordinator drill's Durable Object exports)
   */
  static async start(name, script, config, extraEnv = {}, workerConfig = {}) {
    const logs = [];
    const env = { ...outpostEnv(config), ...extraEnv };
    const { mf, url } = await startWorker(name, script, env, {
      workerConfig,
      verbose: true,
      // Without these Miniflare prints workerd's lines (and its own) to our stdout; the drill keeps them.
      handleStructuredLogs: ({ level, message }) => logs.push({ at: Date.now(), level, message }),
      log: new CapturingLog((message) => logs.push({ at: Date.now(), level: "miniflare", message })),
    });
    return new OutpostUnderDrill(name, mf, url, logs, extraEnv.OUTPOST_ADMIN_TOKEN?.value);
  }

  constructor(name, mf, url, logs, adminToken) {
    this.name = name;
    this.mf = mf;
    this.url = url;
    this.logs = logs;
    this.adminToken = adminToken;
    this.cronRuns = [];
    this.cronTimer = undefined;
  }

  /** One admin API call (the token from OUTPOST_ADMIN_TOKEN in extraEnv): its status and JSON body (null when not JSON). */
  async admin(path, init = {}) {
    const response = await fetch(`${this.url}/__outpost${path}`, { ...init, headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json", ...init.headers } });
    return { status: response.status, body: await response.json().catch(() => null) };
  }

  /** Runs the worker's scheduled handler once, as Cloudflare's cron trigger would. */
  async runCron() {
    const worker = await this.mf.getWorker();
    const startedAt = Date.now();
    const result = await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date(startedAt) });
    this.cronRuns.push({ startedAt, outcome: result.outcome, durationMs: Date.now() - startedAt });
    return result;
  }

  /** Fires the cron every `intervalMs` until stopCron(); a run never overlaps the previous one. */
  startCron(intervalMs) {
    let running = false;
    this.cronTimer = setInterval(() => {
      if (running) return;
      running = true;
      this.runCron()
        .catch((error) => this.cronRuns.push({ startedAt: Date.now(), outcome: `threw: ${error.message}`, durationMs: 0 }))
        .finally(() => (running = false));
    }, intervalMs);
  }

  stopCron() {
    clearInterval(this.cronTimer);
  }

  /** Log lines and cron outcomes that show a Worker exception. */
  exceptions() {
    const fromLogs = this.logs.filter(({ message }) => WORKER_EXCEPTION.test(message) && !LOST_CONNECTION.test(message)).map(({ message }) => message);
    const fromCron = this.cronRuns.filter(({ outcome }) => outcome !== "ok").map(({ outcome }) => `scheduled(): ${outcome}`);
    const { reported, handledAtMost } = this.lostConnections();
    const unaccounted = reported > handledAtMost ? [`workerd reported ${reported} lost connections, Outpost handled at most ${handledAtMost}`] : [];
    return [...fromLogs, ...fromCron, ...unaccounted];
  }

  /** The check every drill makes: nothing thrown, in fetch or in the cron. */
  exceptionCheck() {
    const exceptions = this.exceptions();
    const { reported } = this.lostConnections();
    const read = `${this.logs.length} log lines read${reported ? `; ${reported} lost-connection reports, all handled` : ""}`;
    return check("no Worker exception (workerd log, cron outcomes)", exceptions.length === 0, exceptions.slice(0, 2).join(" / ") || read);
  }

  /**
   * Lost connections workerd reported, and how many Outpost can have handled: every failed origin
   * attempt is logged (origin_attempt_failed, connect_error); health probes are not logged one by
   * one, so every origin a cron run probed counts as possibly failed (an upper bound while monitors
   * make one probe per origin, retries = 0, as the drills' do).
   */
  lostConnections() {
    const reported = this.logs.filter(({ message }) => LOST_CONNECTION_REPORT.test(message)).length;
    const attempts = this.events("origin_attempt_failed").filter((e) => e.outcome === "connect_error").length;
    const probes = this.events("health_check_completed").reduce((n, e) => n + (e.probed ?? 0), 0);
    return { reported, handledAtMost: attempts + probes };
  }

  /** Outpost's JSON log events with this name (e.g. "circuit_state_changed"). */
  events(name) {
    return this.logs.flatMap(({ at, message }) => {
      if (!message.includes(`"event":"${name}"`)) return [];
      try {
        return [{ at, ...JSON.parse(message.slice(message.indexOf("{"))) }];
      } catch {
        return [];
      }
    });
  }

  /** Stops the worker and writes its log; returns the log file's path. */
  async stop() {
    this.stopCron();
    await this.mf.dispose();
    mkdirSync(LOG_DIR, { recursive: true });
    const file = join(LOG_DIR, `${this.name}.log`);
    writeFileSync(file, this.logs.map(({ at, level, message }) => `${new Date(at).toISOString()} ${level} ${message}`).join("\n") + "\n");
    return file;
  }
}

/** Miniflare's own log (startup, warnings, errors it reports), kept instead of printed. */
class CapturingLog extends Log {
  constructor(record) {
    super(LogLevel.INFO);
    this.record = record;
  }
  log(message) {
    this.record(message);
  }
  error(error) {
    this.record(`[mf:error] ${error?.stack ?? error}`);
  }
}

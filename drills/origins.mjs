// Origin process control for the drills: each origin is a real Node process (origin-process.mjs)
// on 127.0.0.1. kill() sends SIGKILL (no graceful close: the kernel drops its connections and new
// ones are refused); restart() starts it again on the same port. Every process started here is
// tracked by PID and killed when the drill process exits, so none outlives the run.
import { fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ORIGIN_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "origin-process.mjs");
const START_TIMEOUT_MS = 10_000;
const live = new Set();

process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

function spawnOrigin(name, port, { delayMs = 0, hang = false, maxAgeSeconds = 5 }) {
  const args = ["--name", name, "--port", String(port), "--delay-ms", String(delayMs), "--max-age", String(maxAgeSeconds)];
  if (hang) args.push("--hang");
  const child = fork(ORIGIN_SCRIPT, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  live.add(child);
  child.once("exit", () => live.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`origin ${name} did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const onMessage = (message) => {
      if (message.type === "listening" || message.type === "error") {
        clearTimeout(timer);
        child.off("message", onMessage);
        if (message.type === "listening") resolve({ child, port: message.port });
        else reject(new Error(`origin ${name}: ${message.message}`));
      }
    };
    child.on("message", onMessage);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`origin ${name} exited with ${code} before listening`));
    });
  });
}

export class OriginProcess {
  /** Starts an origin on a free port; options: { delayMs, hang, maxAgeSeconds }. */
  static async start(name, options = {}) {
    const { child, port } = await spawnOrigin(name, 0, options);
    return new OriginProcess(name, options, child, port);
  }

  constructor(name, options, child, port) {
    this.name = name;
    this.options = options;
    this.child = child;
    this.port = port;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** SIGKILL, then wait until the process is gone (so its port refuses connections). */
  async kill() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.child = undefined;
  }

  /** Starts the origin again on its port; retries briefly if the port is not free yet. */
  async restart() {
    for (let attempt = 1; ; attempt += 1) {
      try {
        ({ child: this.child } = await spawnOrigin(this.name, this.port, this.options));
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** { requests, cancelled } seen by the running process (since its last start). */
  async stats() {
    const child = this.child;
    if (!child) return { requests: 0, cancelled: 0 };
    return new Promise((resolve) => {
      const onMessage = (message) => {
        if (message.type !== "stats") return;
        child.off("message", onMessage);
        resolve({ requests: message.requests, cancelled: message.cancelled });
      };
      child.on("message", onMessage);
      child.send({ type: "stats" });
    });
  }
}

export async function killAll(origins) {
  await Promise.all(origins.map((origin) => origin.kill()));
}

// Shared by `npm run size`, `npm run bench` and `npm run profile`: Outpost bundled exactly as
// `wrangler deploy --env production` would (--dry-run: nothing is uploaded), and a worker script
// started on the Miniflare Node API.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const COMPATIBILITY_DATE = "2026-10-20";

/**
 * Bundles the worker into `.wrangler/<name>/` and returns the bundle's source. `entry` (a path from the
 * project root) replaces wrangler.toml's `main`, for a worker that wraps Outpost (the drills' KV faults);
 * `root` bundles another checkout's wrangler.toml and src/ (`npm run ab`'s base revision).
 */
export function bundleWorker(name, { minify = true, entry, root = projectRoot } = {}) {
  const outdir = join(projectRoot, ".wrangler", name);
  rmSync(outdir, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [
      join(projectRoot, "node_modules/wrangler/bin/wrangler.js"),
      "deploy",
      ...(entry ? [entry] : []),
      "--dry-run",
      "--env",
      "production",
      "--outdir",
      outdir,
      ...(minify ? [] : ["--minify=false"]),
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  const files = readdirSync(outdir).filter((file) => file.endsWith(".js"));
  return files.map((file) => readFileSync(join(outdir, file), "utf8")).join("\n");
}

/** Outpost's bindings on the Miniflare Node API: the cache's KV namespace and the configuration as `[vars.OUTPOST]`. */
export function outpostEnv(config) {
  return { OUTPOST_CACHE: { type: "kv" }, OUTPOST: { type: "json", value: config } };
}

/**
 * The one entry an Outpost worker keeps in KV once a miss has stored it (in waitUntil): its key, its
 * value (the record: header, then the body) and its expiration, for a bare worker to read the same key.
 */
export async function storedKvEntry(mf) {
  const kv = await mf.getKVNamespace("OUTPOST_CACHE");
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const { keys } = await kv.list({ prefix: "outpost:v2:" });
    if (keys.length === 1) return { key: keys[0].name, value: await kv.get(keys[0].name, "arrayBuffer"), expiration: keys[0].expiration };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("Outpost stored no single KV entry");
}

/**
 * Puts a stored entry (storedKvEntry) into another worker's `KV` binding: under its own key, with its
 * expiration, unless `key` or `lasting` (no expiration) say otherwise.
 */
export async function copyKvEntry(mf, entry, { key = entry.key, lasting = false } = {}) {
  const kv = await mf.getKVNamespace("KV");
  await kv.put(key, entry.value, lasting ? {} : { expiration: entry.expiration });
}

/**
 * One ES-module worker on 127.0.0.1 (a free port); `env` takes Miniflare 5 bindings ({ type: "kv" }, ...).
 * `workerConfig` adds keys to the worker's config (the coordinator drill's Durable Object `exports`).
 */
export async function startWorker(name, script, env, { workerConfig = {}, ...options } = {}) {
  return startWorkers([workerDefinition(name, script, env, workerConfig)], options);
}

/**
 * A handleStructuredLogs option that counts a worker's log lines into `counts` by level and event
 * ("warn origin_attempt_failed") instead of printing them: load makes thousands.
 */
export function countingLogs(counts) {
  return (log) => {
    let event = "";
    try {
      event = JSON.parse(log.message).event ?? "";
    } catch {
      event = String(log.message).slice(0, 80);
    }
    const key = `${log.level} ${event}`.trim();
    counts[key] = (counts[key] ?? 0) + 1;
  };
}

/** One ES-module worker of a Miniflare instance, as the production bundle runs (compatibility date and flags). */
export function workerDefinition(name, script, env, workerConfig = {}) {
  return {
    config: {
      name,
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ["enable_request_signal"],
      manifest: { mainModule: "index.js", modulesRoot: "/", modules: { "index.js": { type: "esm", contents: script } } },
      env,
      ...workerConfig,
    },
  };
}

/** Several workers (workerDefinition) in one Miniflare instance on 127.0.0.1; the first answers its URL. */
export async function startWorkers(workers, options = {}) {
  const mf = new Miniflare({ host: "127.0.0.1", port: 0, ...options, workers });
  return { mf, url: (await mf.ready).toString().replace(/\/$/, "") };
}

/**
 * Bundles a standalone worker file (a bench baseline that imports packages) into one ES module with
 * esbuild, the bundler wrangler itself uses (resolved through wrangler, so no extra dependency).
 */
export async function bundleFile(entryPath) {
  const esbuild = createRequire(createRequire(import.meta.url).resolve("wrangler/package.json"))("esbuild");
  const result = await esbuild.build({
    entryPoints: [entryPath],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    minify: true,
    write: false,
    logLevel: "error",
  });
  return result.outputFiles[0].text;
}

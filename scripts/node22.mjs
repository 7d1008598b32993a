// Finds (or fetches) a Node.js >= 22.12 to run the Node-22-only tools (wrangler, vitest 5).
// Written for any Node >= 18 so it can bootstrap from an older system Node.
// Node itself comes from the npm registry (package node-<platform>-<arch>), checked by npm's
// integrity verification, unpacked once into .cache/node/ beside this project.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PINNED_NODE_VERSION = "22.23.3";
const MINIMUM = [22, 12];
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

export function isRecentEnough(version) {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number);
  return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
}

/** Path to a node binary >= 22.12: the current one when it is recent enough, else a cached download. */
export function resolveNode22({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  if (isRecentEnough(process.versions.node)) return process.execPath;
  const packageName = `node-${process.platform}-${process.arch}`;
  const cacheRoot = process.env.OUTPOST_NODE_CACHE ?? join(projectRoot, ".cache", "node");
  const installDir = join(cacheRoot, `${packageName}-${PINNED_NODE_VERSION}`);
  const binary = join(installDir, "bin", process.platform === "win32" ? "node.exe" : "node");
  if (existsSync(binary)) return binary;

  log(`outpost: system Node ${process.version} is older than ${MINIMUM.join(".")}; fetching ${packageName}@${PINNED_NODE_VERSION} from the npm registry (once)...`);
  unpackFromRegistry(`${packageName}@${PINNED_NODE_VERSION}`, installDir);
  if (!existsSync(binary)) throw new Error(`${packageName}@${PINNED_NODE_VERSION} has no ${binary}`);
  log(`outpost: using ${binary}`);
  return binary;
}

/**
 * Downloads one package tarball with `npm pack` (npm checks its integrity against the registry) and
 * unpacks it into `installDir`, replacing what was there. For tools the project runs but does not
 * depend on at run time (Node itself, the HTTP caching test suite).
 */
export function unpackFromRegistry(spec, installDir) {
  const staging = `${installDir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    execFileSync("npm", ["pack", spec, "--pack-destination", staging, "--silent"], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, npm_config_loglevel: "error" },
    });
    const tarball = readdirSync(staging).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error(`npm pack produced no tarball for ${spec}`);
    execFileSync("tar", ["-xzf", join(staging, tarball), "-C", staging]);
    rmSync(installDir, { recursive: true, force: true });
    mkdirSync(dirname(installDir), { recursive: true });
    renameSync(join(staging, "package"), installDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

// The simulator's origins: one real HTTP server on 127.0.0.1 per origin, grouped in pools, each with
// a latency and a state the scenario changes at given times: "up", "slow" (extra latency), "5xx"
// (503 to everything) or "down" (the port refuses connections: the server is closed, its open
// connections destroyed, and it listens on the same port again when it recovers).
//
// Every answer carries X-Sim-Served-At (this origin's clock, ms) and X-Sim-Origin; a cached copy keeps
// them, which is how the simulator tells a purged copy from a new one and a hit from a fill. The
// catalogue (traffic.mjs) decides each path's freshness: /c/<class>/<n> objects get the class's TTL
// (divided by the run's scale), /api/* is never stored (no-store), anything else (a replay's URLs)
// gets the TTL of a class chosen by a hash of its path.
import { createServer } from "node:http";
import { classForPath } from "./traffic.mjs";

/** Pools and their origins: the EU pool is the one the world scenario takes down. */
export const DEFAULT_POOLS = [
  { name: "eu", latitude: 50.11, longitude: 8.68, origins: [{ name: "eu-1", latencyMs: 15 }] },
  { name: "us", latitude: 39.04, longitude: -77.49, origins: [{ name: "us-1", latencyMs: 20 }] },
  { name: "apac", latitude: 35.68, longitude: 139.69, origins: [{ name: "apac-1", latencyMs: 25 }] },
];

const SLOW_EXTRA_MS = 1_500;

class SimOrigin {
  constructor(pool, { name, latencyMs }, { scale, stats }) {
    this.pool = pool;
    this.name = name;
    this.latencyMs = latencyMs;
    this.scale = scale;
    this.stats = stats;
    this.state = "up";
    this.sockets = new Set();
    this.server = createServer((request, response) => this.answer(request, response));
    this.server.keepAliveTimeout = 5_000;
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  async listen(port = 0) {
    await new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.port = this.server.address().port;
  }

  get address() {
    return `http://127.0.0.1:${this.port}`;
  }

  async setState(state) {
    if (state === this.state) return;
    const wasDown = this.state === "down";
    this.state = state;
    if (state === "down") {
      const closed = new Promise((resolve) => this.server.close(resolve));
      for (const socket of this.sockets) socket.destroy();
      await closed;
    } else if (wasDown) {
      await this.listen(this.port);
    }
  }

  answer(request, response) {
    const url = new URL(request.url, "http://origin");
    const location = request.headers["x-sim-location"] ?? "?";
    const probe = request.headers["x-sim-probe"] === "1";
    // A cookie reached the origin: a personalised request the route never caches (left out of the
    // shield's per-TTL-window figure).
    const personal = request.headers.cookie !== undefined;
    const at = Date.now();
    this.stats.record({ origin: this.name, pool: this.pool, path: url.pathname, location, probe, personal, at, state: this.state });
    const delay = this.latencyMs + (this.state === "slow" ? SLOW_EXTRA_MS : 0);
    setTimeout(() => {
      if (this.state === "5xx") {
        response.writeHead(503, { "content-type": "text/plain", "cache-control": "no-store" }).end("origin failing (scenario)");
        return;
      }
      const objectClass = classForPath(url.pathname);
      const servedAt = Date.now();
      const headers = {
        "content-type": objectClass.contentType,
        "x-sim-served-at": String(servedAt),
        "x-sim-origin": this.name,
      };
      if (objectClass.ttlSeconds === 0) {
        headers["cache-control"] = "private, no-store";
      } else {
        headers["cache-control"] = `public, max-age=${Math.max(1, Math.round(objectClass.ttlSeconds / this.scale))}`;
        const id = url.pathname.split("/").pop();
        headers["cache-tag"] = `obj-${id},class-${objectClass.name}`;
      }
      response.writeHead(200, headers);
      response.end(Buffer.alloc(objectClass.bytes, 0x61));
    }, delay);
  }

  async close() {
    if (this.state === "down") return;
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

/** What the origins saw: requests per origin, per location, over time, and each path's first answer. */
export class OriginStats {
  constructor() {
    this.requests = [];
    this.firstServedAt = new Map();
  }
  record(entry) {
    this.requests.push(entry);
    if (!this.firstServedAt.has(entry.path)) this.firstServedAt.set(entry.path, entry.at);
  }
}

/** Starts every origin of every pool; `byName` finds one for the scenario's events. */
export async function startOrigins(pools, { scale }) {
  const stats = new OriginStats();
  const origins = [];
  for (const pool of pools) {
    for (const definition of pool.origins) {
      const origin = new SimOrigin(pool.name, definition, { scale, stats });
      await origin.listen();
      origins.push(origin);
    }
  }
  return {
    stats,
    origins,
    byName: (name) => origins.find((origin) => origin.name === name),
    /** Outpost's `pools` with these origins' addresses. */
    outpostPools: () =>
      pools.map((pool) => ({
        name: pool.name,
        latitude: pool.latitude,
        longitude: pool.longitude,
        origins: origins.filter((origin) => origin.pool === pool.name).map((origin) => ({ name: origin.name, address: origin.address })),
      })),
    close: () => Promise.all(origins.map((origin) => origin.close())),
  };
}

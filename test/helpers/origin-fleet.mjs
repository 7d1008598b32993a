// Real origin servers for tests, benchmarks and drills (runs in Node, not in workerd).
// A control server on 127.0.0.1 creates origins on ephemeral ports and steers them: each origin
// counts and records the requests it receives and can echo, answer a fixed response, stream a body
// that it holds back until released, answer slowly, hang, reset connections, or stop listening
// (connections refused). It also misbehaves on purpose: a whole answer held until released, a body
// that stalls or resets after its first bytes (with a declared Content-Length), a large body, answers
// that depend on the request's validators (304s with their own fields), and a sequence of answers.
// Every test creates its own origins, so parallel test files never share counts.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";

// Loaded through Node's own resolver: vite's, which loads the global setup, picks ws's browser stub.
const { WebSocketServer } = createRequire(import.meta.url)("ws");

/** @typedef {{ kind: "echo", status?: number, headers?: Record<string, string | string[]> }
 *  | { kind: "fixed", status: number, headers?: Record<string, string | string[]>, body?: string }
 *  | { kind: "slow", delayMs: number, then?: OriginBehavior }
 *  | { kind: "hang" }
 *  | { kind: "reset" }
 *  | { kind: "held-stream", firstChunk: string, rest: string, headers?: Record<string, string> }
 *  | { kind: "pipe" }
 *  | { kind: "held", then: OriginBehavior }
 *  | { kind: "broken-body", status?: number, headers?: Record<string, string | string[]>, firstChunk: string, declaredLength: number, end: "stall" | "reset" }
 *  | { kind: "large", bytes: number, status?: number, headers?: Record<string, string | string[]> }
 *  | { kind: "gzip", text: string, headers?: Record<string, string | string[]> }
 *  | { kind: "conditional", notModified: { headers?: Record<string, string | string[]> }, otherwise: OriginBehavior }
 *  | { kind: "sequence", steps: OriginBehavior[] }
 *  | { kind: "websocket-echo", protocol?: string }} OriginBehavior */

class FleetOrigin {
  #behavior;
  #upgradeListener;

  /** @type {OriginBehavior} */
  get behavior() {
    return this.#behavior;
  }

  /**
   * WebSocket upgrades (RFC 6455) are accepted only under "websocket-echo". Every other behaviour
   * answers them as plain requests, as an origin that does not speak WebSocket does (Node's server
   * does so by itself while no "upgrade" listener is registered).
   */
  set behavior(next) {
    this.#behavior = next;
    this.server.off("upgrade", this.#upgradeListener);
    if (next.kind === "websocket-echo") this.server.on("upgrade", this.#upgradeListener);
  }

  constructor(id, name) {
    this.id = id;
    this.name = name;
    this.#upgradeListener = (req, socket, head) => this.#upgrade(req, socket, head);
    this.requests = [];
    /** How many requests a "sequence" behaviour has answered (the last step repeats). */
    this.sequenceAt = 0;
    this.sockets = new Set();
    this.releases = [];
    this.server = createServer((req, res) => this.#handle(req, res));
    this.behavior = { kind: "echo" };
    this.webSockets = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (this.behavior.protocol && protocols.has(this.behavior.protocol) ? this.behavior.protocol : false) });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    this.port = 0;
    this.listening = false;
  }

  async start() {
    if (this.listening) return;
    await new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.port = this.server.address().port;
    this.listening = true;
  }

  /** Stops listening and drops open connections, so new connections are refused. */
  async stop() {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  release() {
    for (const release of this.releases.splice(0)) release();
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * "websocket-echo": answers every text message with "<origin name>: <text>" (so a test sees which
   * origin it reached) and every binary message with the same bytes.
   */
  #upgrade(req, socket, head) {
    this.requests.push({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0, aborted: false, upgrade: true });
    this.webSockets.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", (data, isBinary) => ws.send(isBinary ? data : `${this.name}: ${data.toString()}`, { binary: isBinary }));
    });
  }

  #handle(req, res) {
    const record = { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0, aborted: false };
    this.requests.push(record);
    res.on("close", () => {
      if (!res.writableFinished) record.aborted = true;
    });
    const behavior = this.behavior;
    if (behavior.kind === "pipe") {
      res.writeHead(200, { "content-type": "application/octet-stream", "x-origin": this.name });
      res.flushHeaders();
      req.on("data", (chunk) => {
        record.bodyBytes += chunk.length;
        res.write(chunk);
      });
      req.on("end", () => res.end());
      return;
    }
    const chunks = [];
    req.on("data", (chunk) => {
      record.bodyBytes += chunk.length;
      chunks.push(chunk);
    });
    req.on("end", () => this.#respond(behavior, record, res));
  }

  #respond(behavior, record, res) {
    const base = { "x-origin": this.name };
    switch (behavior.kind) {
      case "hang":
        return; // never answers; the connection stays open until the client gives up
      case "reset":
        res.socket?.destroy();
        return;
      case "slow":
        setTimeout(() => this.#respond(behavior.then ?? { kind: "echo" }, record, res), behavior.delayMs);
        return;
      case "fixed":
        res.writeHead(behavior.status, { ...base, ...behavior.headers });
        res.end(behavior.body ?? "");
        return;
      case "held-stream":
        res.writeHead(200, { ...base, "content-type": "text/plain", ...behavior.headers });
        res.write(behavior.firstChunk);
        this.releases.push(() => res.end(behavior.rest));
        return;
      case "held":
        // The whole answer waits for release(): lets a test start concurrent requests first.
        this.releases.push(() => this.#respond(behavior.then, record, res));
        return;
      case "broken-body":
        // Headers and the first bytes of a body that never completes: it stalls forever, or the
        // connection is reset after the first chunk.
        res.writeHead(behavior.status ?? 200, { ...base, "content-length": String(behavior.declaredLength), ...behavior.headers });
        res.write(behavior.firstChunk);
        if (behavior.end === "reset") setTimeout(() => res.socket?.destroy(), 20);
        return;
      case "large": {
        res.writeHead(behavior.status ?? 200, { ...base, "content-type": "application/octet-stream", "content-length": String(behavior.bytes), ...behavior.headers });
        if (record.method === "HEAD") return res.end();
        const chunk = Buffer.alloc(64 * 1024, 97);
        let left = behavior.bytes;
        const writeMore = () => {
          while (left > 0) {
            const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
            left -= piece.length;
            if (!res.write(piece)) return void res.once("drain", writeMore);
          }
          res.end();
        };
        writeMore();
        return;
      }
      case "gzip": {
        // Content-Length counts the coded bytes; the runtime's fetch hands the Worker the decoded text.
        const coded = gzipSync(behavior.text);
        res.writeHead(200, { ...base, "content-type": "text/plain", "content-encoding": "gzip", "content-length": String(coded.length), ...behavior.headers });
        res.end(coded);
        return;
      }
      case "conditional": {
        const conditional = record.headers["if-none-match"] !== undefined || record.headers["if-modified-since"] !== undefined;
        if (!conditional) return this.#respond(behavior.otherwise, record, res);
        res.writeHead(304, { ...base, ...behavior.notModified.headers });
        res.end();
        return;
      }
      case "websocket-echo":
        // A plain request to a WebSocket endpoint (RFC 6455 §4.2.2: the server asks for the upgrade).
        res.writeHead(426, { ...base, upgrade: "websocket", connection: "upgrade", "content-type": "text/plain" });
        res.end("this endpoint speaks WebSocket only");
        return;
      case "sequence": {
        const step = behavior.steps[Math.min(this.sequenceAt++, behavior.steps.length - 1)];
        return this.#respond(step, record, res);
      }
      default: {
        const body = JSON.stringify({ origin: this.name, n: this.requests.length, method: record.method, url: record.url, headers: record.headers, bodyBytes: record.bodyBytes });
        res.writeHead(behavior.status ?? 200, { ...base, "content-type": "application/json", ...behavior.headers });
        res.end(record.method === "HEAD" ? undefined : body);
      }
    }
  }
}

/** Starts the control server. Returns its URL and a close() that stops every origin. */
export async function startOriginFleet() {
  const origins = new Map();
  let nextId = 1;

  const control = createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      const body = await readJson(req);
      const [, resource, id, action] = new URL(req.url, "http://control").pathname.split("/");
      if (resource !== "origins") return send(404, { error: "unknown resource" });
      if (!id && req.method === "POST") {
        const origin = new FleetOrigin(String(nextId++), body.name ?? `origin-${nextId}`);
        if (body.behavior) origin.behavior = body.behavior;
        await origin.start();
        origins.set(origin.id, origin);
        return send(201, { id: origin.id, url: origin.url, name: origin.name });
      }
      const origin = origins.get(id);
      if (!origin) return send(404, { error: `no origin ${id}` });
      if (req.method === "DELETE") {
        await origin.stop();
        origins.delete(id);
        return send(200, {});
      }
      switch (action) {
        case "behavior":
          origin.behavior = body;
          origin.sequenceAt = 0;
          return send(200, {});
        case "stop":
          await origin.stop();
          return send(200, {});
        case "start":
          await origin.start();
          return send(200, { url: origin.url });
        case "release":
          origin.release();
          return send(200, {});
        case "requests":
          if (req.method === "DELETE") origin.requests = [];
          return send(200, { count: origin.requests.length, requests: origin.requests });
        default:
          return send(404, { error: `unknown action ${action}` });
      }
    } catch (error) {
      send(500, { error: String(error) });
    }
  });
  await new Promise((resolve) => control.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${control.address().port}`;
  return {
    url,
    origins,
    async close() {
      await Promise.all([...origins.values()].map((origin) => origin.stop()));
      control.closeAllConnections();
      await new Promise((resolve) => control.close(() => resolve()));
    },
  };
}

async function readJson(req) {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

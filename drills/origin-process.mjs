#!/usr/bin/env node
// One drill origin, run as its own process (forked by origins.mjs) so a drill can SIGKILL it and
// start it again on the same port, as an operator or a crash would. Not used directly.
//   node origin-process.mjs --name a --port 0 [--delay-ms 3000 | --hang] [--max-age 5]
// Paths (the body always names the path, so a drill can check it got the right object):
//   /health            200 "ok"                                   (the monitor's probe)
//   [/prefix]/page/<id> 200 text, Cache-Control: public, max-age=N (cacheable)
//   [/prefix]/api/<id>  200 JSON, Cache-Control: no-store          (every request reaches an origin)
// (A prefix lets Outpost routes tell requests apart by path, e.g. /hang/api/1.)
// It talks to its parent over the IPC channel: "listening" with the port once bound, and request
// counts on demand (how many requests arrived, how many the client cancelled before the answer:
// a timeout that really cancels the subrequest shows up here).
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    port: { type: "string", default: "0" },
    "delay-ms": { type: "string", default: "0" },
    hang: { type: "boolean", default: false },
    "max-age": { type: "string", default: "5" },
  },
});
const name = values.name ?? "origin";
const delayMs = Number(values["delay-ms"]);
const maxAgeSeconds = Number(values["max-age"]);
const counts = { requests: 0, cancelled: 0 };

function answer(pathname) {
  if (pathname === "/health") return { status: 200, type: "text/plain", cacheControl: "no-store", body: "ok\n" };
  if (pathname.includes("/page/")) {
    return { status: 200, type: "text/plain", cacheControl: `public, max-age=${maxAgeSeconds}`, body: `path=${pathname}\norigin=${name}\n` };
  }
  if (pathname.includes("/api/")) {
    return { status: 200, type: "application/json", cacheControl: "no-store", body: `${JSON.stringify({ path: pathname, origin: name })}\n` };
  }
  return { status: 404, type: "text/plain", cacheControl: "no-store", body: `no page ${pathname} on ${name}\n` };
}

const server = createServer((req, res) => {
  counts.requests += 1;
  res.on("close", () => {
    if (!res.writableFinished) counts.cancelled += 1;
  });
  if (values.hang) return; // accept and never answer: only the caller's timeout ends this
  const send = () => {
    if (res.destroyed) return;
    const { status, type, cacheControl, body } = answer(new URL(req.url, "http://origin").pathname);
    res.writeHead(status, { "content-type": type, "cache-control": cacheControl, "x-drill-origin": name });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  if (delayMs > 0) setTimeout(send, delayMs);
  else send();
});

server.once("error", (error) => {
  process.send?.({ type: "error", message: error.message });
  process.exit(1);
});
server.listen(Number(values.port), "127.0.0.1", () => process.send?.({ type: "listening", port: server.address().port }));

process.on("message", (message) => {
  if (message?.type === "stats") process.send?.({ type: "stats", ...counts });
});
// The parent going away (even by SIGKILL) closes the IPC channel: never outlive it.
process.on("disconnect", () => process.exit(0));

// Local origins for `npm run bench`, all on 127.0.0.1. What the origin answers depends on the path's
// first segment, so one server backs every scenario; it counts requests per segment so the bench can
// check that misses really reached it and that collapsed fills went out once.
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";

const OBJECT_BYTES = 10 * 1024;
export const LARGE_OBJECT_BYTES = 20 * 1024 * 1024;
const SLOW_ORIGIN_MS = 200;

const STORABLE = "public, max-age=3600";
const NO_STORE = "no-store";

/**
 * Path's first segment (or its part before a "-") -> how the origin answers. Anything not listed: a
 * storable 10 KB object.
 */
const KINDS = {
  pass: { cacheControl: NO_STORE }, // uncacheable: pass-through and failover routes
  refused: { cacheControl: NO_STORE },
  open: { cacheControl: NO_STORE },
  direct: { cacheControl: NO_STORE },
  // Stale on arrival, so every request is within stale-while-revalidate. Outpost stores a response
  // that is stale on arrival only when it has a validator; its background refreshes get a 304.
  stale: { cacheControl: "public, max-age=0, stale-while-revalidate=3600", etag: '"stale-v1"' },
  slow: { cacheControl: STORABLE, delayMs: SLOW_ORIGIN_MS }, // collapsing
  large: { cacheControl: STORABLE, bytes: LARGE_OBJECT_BYTES },
  "large-pass": { cacheControl: NO_STORE, bytes: LARGE_OBJECT_BYTES },
};

function listen(server, port = 0) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server.address().port);
    });
  });
}

/** Writes `bytes` from a shared buffer in 64 KiB chunks, honouring backpressure. */
function streamBody(res, buffer, bytes) {
  let offset = 0;
  const writeMore = () => {
    while (offset < bytes) {
      const end = Math.min(offset + 65_536, bytes);
      const ok = res.write(buffer.subarray(offset, end));
      offset = end;
      if (!ok) return void res.once("drain", writeMore);
    }
    res.end();
  };
  writeMore();
}

/** The origin every scenario uses; `hits(segment)` counts requests by the path's first segment, `hitsFor(url)` by exact path+query. */
export async function startOrigin() {
  const small = Buffer.alloc(OBJECT_BYTES, "o");
  const large = Buffer.alloc(LARGE_OBJECT_BYTES, "L");
  const bySegment = new Map();
  const byUrl = new Map();
  const server = createHttpServer((req, res) => {
    const segment = req.url.split(/[/?]/)[1] ?? "";
    bySegment.set(segment, (bySegment.get(segment) ?? 0) + 1);
    byUrl.set(req.url, (byUrl.get(req.url) ?? 0) + 1);
    // "pass-bare" answers as "pass": scenarios of one kind get their own segment, so their counts stay apart.
    const kind = KINDS[segment] ?? KINDS[segment.split("-")[0]] ?? { cacheControl: STORABLE };
    const bytes = kind.bytes ?? OBJECT_BYTES;
    const answer = () => {
      if (kind.etag && req.headers["if-none-match"] === kind.etag) {
        res.writeHead(304, { etag: kind.etag, "cache-control": kind.cacheControl });
        return void res.end();
      }
      res.writeHead(200, { ...(kind.etag && { etag: kind.etag }), "content-type": "application/octet-stream", "content-length": bytes, "cache-control": kind.cacheControl });
      if (kind.bytes) streamBody(res, large, bytes);
      else res.end(small);
    };
    if (kind.delayMs) setTimeout(answer, kind.delayMs);
    else answer();
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    hits: (segment) => bySegment.get(segment) ?? 0,
    hitsFor: (path) => byUrl.get(path) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections(); // workerd's keep-alive connections would hold it open
      }),
  };
}

/**
 * An origin on a fixed port that normally refuses connections (nothing listens there). `revive(fn)`
 * listens just long enough for `fn` to send one request through it (answers `connection: close`, so
 * no pooled connection survives), then closes again. The bench uses it to reset Outpost's circuit
 * breaker between batches, so that every measured request pays a refused connect.
 */
export async function startRefusingOrigin() {
  const server = createHttpServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "cache-control": NO_STORE, connection: "close" });
    res.end("revived");
  });
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    async revive(fn) {
      await listen(server, port);
      try {
        return await fn();
      } finally {
        await new Promise((resolve) => {
          server.close(resolve);
          server.closeAllConnections();
        });
      }
    },
  };
}

/** A dead origin that can count attempts: accepts each TCP connection and destroys it at once. */
export async function startResettingOrigin() {
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

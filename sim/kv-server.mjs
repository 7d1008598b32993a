// The KV shim on loopback HTTP: every location's OUTPOST_CACHE binding (sim/location-worker.ts)
// calls this server, so all locations share one SimKv (kv-shim.mjs) held in the simulator's process.
//   POST /kv/<get|put|delete|list>   x-sim-kv: {"location","key","options"}   body: the value (put)
// A get answers the value as the body with x-sim-kv-found: 1 (or 0) and x-sim-kv-metadata (JSON,
// URI-encoded); list answers JSON; a rule broken answers its status and the message KV throws with.
import { createServer } from "node:http";
import { KvError } from "./kv-shim.mjs";

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    request.on("error", reject);
  });
}

export async function startKvServer(kv) {
  const server = createServer(async (request, response) => {
    try {
      const op = request.url.replace(/^\/kv\//, "");
      const { location, key, options = {} } = JSON.parse(request.headers["x-sim-kv"] ?? "{}");
      const body = await readBody(request);
      if (op === "get") {
        const found = kv.get(location, key, options);
        response.writeHead(200, {
          "x-sim-kv-found": found ? "1" : "0",
          "x-sim-kv-metadata": encodeURIComponent(JSON.stringify(found?.metadata ?? null)),
        });
        response.end(found ? Buffer.from(found.value) : undefined);
      } else if (op === "put") {
        kv.put(location, key, body, options);
        response.writeHead(200).end();
      } else if (op === "delete") {
        kv.delete(location, key);
        response.writeHead(200).end();
      } else if (op === "list") {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(kv.list(location, options)));
      } else {
        response.writeHead(404).end(`unknown KV operation ${op}`);
      }
    } catch (error) {
      const status = error instanceof KvError ? error.status : 500;
      response.writeHead(status).end(String(error.message ?? error));
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}

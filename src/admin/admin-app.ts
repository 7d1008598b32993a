// The admin API under the reserved prefix (admin.path_prefix, default /__outpost): never forwarded
// to an origin, closed unless OUTPOST_ADMIN_TOKEN is set, every call behind the bearer token.
//   GET  /           the dashboard (a page without data; it calls the endpoints below with the token)
//   GET  /status     configuration, health, counters
//   GET  /explain    dry-run decision trace for a URL and a visitor
//   POST /purge      Cloudflare purge_cache body (+ "soft")
//   GET  /purge/:id  the purge's receipt: which locations have applied it (purge coordinator only)
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { loadConfig } from "../config/load-config.ts";
import { adminSchema } from "../config/schema.ts";
import type { ConfigValidation } from "../config/validate-config.ts";
import type { OutpostEnv } from "../env.ts";
import { errorResponse, OutpostError } from "../lib/errors.ts";
import { describeError, logEvent } from "../lib/log.ts";
import { configOrThrow } from "../pipeline/handle-request.ts";
import type { PipelineDeps } from "../pipeline/types.ts";
import { adminGate } from "./auth.ts";
import { DASHBOARD_HTML, DASHBOARD_SECURITY_HEADERS } from "./dashboard.ts";
import { explainRequest, parseExplainQuery } from "./explain.ts";
import { purge, purgeErrorResponse, readJsonBody } from "./purge-endpoint.ts";
import { purgeReceipt } from "./purge-receipt.ts";
import { describeStatus } from "./status.ts";

/** While the configuration is broken the admin API stays where the schema's default puts it. */
const DEFAULT_ADMIN_PREFIX = adminSchema.parse({}).path_prefix;
const MAX_PURGE_BODY_BYTES = 64 * 1024;

/** The admin prefix in force: the configured one, or the default while the configuration is broken. */
export function adminPrefixOf(loaded: ConfigValidation): string {
  return loaded.ok ? loaded.config.adminPrefix : DEFAULT_ADMIN_PREFIX;
}

export function isAdminPath(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === "/");
}

/** Rounds of percent-decoding: a server or framework that decodes twice must not reach the prefix either. */
const MAX_DECODE_ROUNDS = 3;

/**
 * `path` as a lenient server might read it: percent-decoded (bytewise, never throwing), dot segments
 * and backslashes resolved by the URL parser, repeated slashes merged, case folded.
 */
export function foldPath(path: string): string {
  let folded = path;
  for (let round = 0; round < MAX_DECODE_ROUNDS && folded.includes("%"); round += 1) {
    const decoded = folded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (decoded === folded) break;
    try {
      // Slashes merged first: "//x" would otherwise parse as a host.
      folded = new URL(`https://outpost.internal${decoded.replace(/[\\/]+/g, "/")}`).pathname;
    } catch {
      folded = decoded;
    }
  }
  return (folded.includes("//") ? folded.replace(/\/{2,}/g, "/") : folded).toLowerCase();
}

/**
 * Where a request path belongs: "admin" (exactly under the prefix), "disguised" (only percent-
 * decoding, case folding or slash merging makes it the prefix: answered 400, never proxied, since an
 * origin that normalises paths would otherwise serve its own /__outpost), or "proxy".
 */
export function classifyAdminPath(path: string, prefix: string): "admin" | "disguised" | "proxy" {
  if (isAdminPath(path, prefix)) return "admin";
  return isAdminPath(foldPath(path), prefix.toLowerCase()) ? "disguised" : "proxy";
}

export function createAdminApp(deps: PipelineDeps) {
  // Routes are written relative to the prefix, which comes from the configuration at request time.
  const admin = new Hono<{ Bindings: OutpostEnv }>({
    getPath: (request, options) => {
      const path = new URL(request.url).pathname.slice(adminPrefixOf(loadConfig(options!.env!)).length);
      return path === "" ? "/" : path;
    },
  });

  admin.use("*", adminGate({ publicPaths: new Set(["/"]) }));
  admin.use("*", async (c, next) => {
    await next();
    // Admin answers are about this moment and this operator: never stored anywhere.
    c.res.headers.set("cache-control", "no-store");
  });

  admin.get("/", (c) => c.html(DASHBOARD_HTML, 200, DASHBOARD_SECURITY_HEADERS));

  admin.get("/status", async (c) => c.json(await describeStatus(configOrThrow(loadConfig(c.env)), c.env, deps)));

  admin.get("/explain", async (c) => {
    const config = configOrThrow(loadConfig(c.env));
    return c.json(await explainRequest(parseExplainQuery(c.req.queries()), config, c.env, deps));
  });

  admin.post(
    "/purge",
    bodyLimit({
      maxSize: MAX_PURGE_BODY_BYTES,
      onError: () => purgeErrorResponse(new OutpostError(413, "payload_too_large", `A purge body may be at most ${MAX_PURGE_BODY_BYTES} bytes`)),
    }),
    async (c) => {
      try {
        return c.json(await purge(c.env, deps, await readJsonBody(c.req.raw)));
      } catch (error) {
        if (error instanceof OutpostError) return purgeErrorResponse(error);
        throw error;
      }
    },
  );

  admin.get("/purge/:id", async (c) => {
    try {
      return c.json(await purgeReceipt(c.env, deps, c.req.param("id")));
    } catch (error) {
      if (error instanceof OutpostError) return purgeErrorResponse(error);
      throw error;
    }
  });

  admin.notFound(() => errorResponse(new OutpostError(404, "not_found", "No such admin endpoint: see GET / for the dashboard, /status, /explain, POST /purge")));

  // The admin API's one error boundary: every error is a JSON answer; the stack stays in the log.
  admin.onError((error) => {
    if (error instanceof OutpostError) return errorResponse(error);
    if (error instanceof HTTPException) return error.getResponse();
    logEvent("error", "admin_unhandled_error", { error: describeError(error), stack: error instanceof Error ? error.stack : undefined });
    return errorResponse(new OutpostError(500, "internal_error", "The admin API failed to handle this request"));
  });

  return admin;
}

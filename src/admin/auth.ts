// The admin API is closed unless OUTPOST_ADMIN_TOKEN is set (404, as if it did not exist); with a
// token, every call needs `Authorization: Bearer <token>`, checked by Hono's bearerAuth, which
// compares in constant time (both sides hashed, then compared with timingSafeEqual).
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import type { OutpostEnv } from "../env.ts";
import { errorResponse, OutpostError } from "../lib/errors.ts";

/** Long enough not to be guessed, in the characters a bearer token may use (RFC 6750 §2.1, token68). */
const TOKEN_PATTERN = /^[A-Za-z0-9._~+/-]{16,}=*$/;

function unauthorized(message: string): Response {
  const response = errorResponse(new OutpostError(401, "unauthorized", message));
  response.headers.set("www-authenticate", 'Bearer realm="outpost"');
  return response;
}

const checkBearer = bearerAuth<{ Bindings: OutpostEnv }>({
  realm: "outpost",
  verifyToken: (token, c) => timingSafeEqual(c.env.OUTPOST_ADMIN_TOKEN ?? "", token),
  // Missing, malformed and wrong credentials all get the same 401 JSON: nothing to tell them apart.
  noAuthenticationHeader: { message: () => unauthorized("The admin API needs Authorization: Bearer <OUTPOST_ADMIN_TOKEN>") },
  invalidAuthenticationHeader: { message: () => unauthorized("The admin API needs Authorization: Bearer <OUTPOST_ADMIN_TOKEN>") },
  invalidToken: { message: () => unauthorized("The token does not match OUTPOST_ADMIN_TOKEN") },
});

/** Closed without a token; the dashboard page itself (no data in it) is the one route without a bearer. */
export function adminGate({ publicPaths }: { publicPaths: ReadonlySet<string> }): MiddlewareHandler<{ Bindings: OutpostEnv }> {
  return async (c, next) => {
    const token = c.env.OUTPOST_ADMIN_TOKEN;
    if (!token) throw new OutpostError(404, "admin_disabled", "The admin API is closed: set the OUTPOST_ADMIN_TOKEN secret to open it");
    if (!TOKEN_PATTERN.test(token)) {
      throw new OutpostError(500, "admin_token_invalid", "OUTPOST_ADMIN_TOKEN must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / -");
    }
    if (publicPaths.has(c.req.path)) return next();
    return checkBearer(c, next);
  };
}

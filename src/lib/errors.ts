// Every error Outpost answers with has a status, a stable machine-readable code and a human message,
// and is rendered in one JSON shape: {"error": {"code", "message", ...details}}.
export type ErrorCode =
  | "config_invalid"
  | "no_route"
  | "admin_disabled"
  | "unauthorized"
  | "admin_token_invalid"
  | "invalid_request"
  | "not_found"
  | "payload_too_large"
  | "origin_unreachable"
  | "origin_invalid_status"
  | "origin_timeout"
  | "not_cached"
  | "coordinator_off"
  | "coordinator_unavailable"
  | "internal_error";

export class OutpostError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "OutpostError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function errorResponse(error: OutpostError, headers: HeadersInit = {}): Response {
  const body = JSON.stringify({ error: { code: error.code, message: error.message, ...error.details } });
  const response = new Response(body, { status: error.status, headers });
  response.headers.set("content-type", "application/json; charset=utf-8");
  // Errors are about this moment; a shared cache must not keep them (RFC 9111 §5.2.2.5).
  response.headers.set("cache-control", "no-store");
  return response;
}

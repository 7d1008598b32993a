// Test-side handle on a real origin server from the fleet (see origin-fleet.mjs). Runs inside workerd
// and talks to the fleet's control server over loopback.
import { env } from "cloudflare:workers";

export type OriginBehavior =
  | { kind: "echo"; status?: number; headers?: Record<string, string | string[]> }
  | { kind: "fixed"; status: number; headers?: Record<string, string | string[]>; body?: string }
  | { kind: "slow"; delayMs: number; then?: OriginBehavior }
  | { kind: "hang" }
  | { kind: "reset" }
  /** Headers (with `headers`) and `firstChunk` at once, `rest` on release(). */
  | { kind: "held-stream"; firstChunk: string; rest: string; headers?: Record<string, string | string[]> }
  | { kind: "pipe" }
  /** The whole answer waits for release(). */
  | { kind: "held"; then: OriginBehavior }
  /** Headers declaring `declaredLength` bytes, `firstChunk`, then a stall (never ends) or a reset. */
  | { kind: "broken-body"; status?: number; headers?: Record<string, string | string[]>; firstChunk: string; declaredLength: number; end: "stall" | "reset" }
  /** `bytes` bytes of "a" with a Content-Length. */
  | { kind: "large"; bytes: number; status?: number; headers?: Record<string, string | string[]> }
  /** `text`, gzip-coded, with the coded length as Content-Length. */
  | { kind: "gzip"; text: string; headers?: Record<string, string | string[]> }
  /** 304 with `notModified.headers` when the request carries If-None-Match or If-Modified-Since. */
  | { kind: "conditional"; notModified: { headers?: Record<string, string | string[]> }; otherwise: OriginBehavior }
  /** One step per request, in order; the last step repeats. */
  | { kind: "sequence"; steps: OriginBehavior[] }
  /** Accepts WebSocket upgrades; echoes text as "<name>: <text>" and binary as is; 426 to plain requests. */
  | { kind: "websocket-echo"; protocol?: string };

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  bodyBytes: number;
  aborted: boolean;
}

/** What the echo behaviour answers: the request as the origin saw it. */
export interface EchoBody {
  origin: string;
  /** How many requests this origin had received, this one included. */
  n: number;
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  bodyBytes: number;
}

function controlUrl(path: string): string {
  const base = (env as unknown as { TEST_ORIGIN_CONTROL: string }).TEST_ORIGIN_CONTROL;
  return `${base}${path}`;
}

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(controlUrl(path), {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`origin control ${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export interface TestOrigin {
  name: string;
  url: string;
  behave(behavior: OriginBehavior): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  release(): Promise<void>;
  requests(): Promise<RecordedRequest[]>;
  hits(): Promise<number>;
}

export async function createOrigin(name: string, behavior: OriginBehavior = { kind: "echo" }): Promise<TestOrigin> {
  const created = await control<{ id: string; url: string }>("POST", "/origins", { name, behavior });
  const path = `/origins/${created.id}`;
  return {
    name,
    url: created.url,
    behave: (next) => control("PUT", `${path}/behavior`, next),
    stop: () => control("POST", `${path}/stop`),
    start: () => control("POST", `${path}/start`),
    release: () => control("POST", `${path}/release`),
    requests: async () => (await control<{ requests: RecordedRequest[] }>("GET", `${path}/requests`)).requests,
    hits: async () => (await control<{ count: number }>("GET", `${path}/requests`)).count,
  };
}

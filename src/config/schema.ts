// The only home of Outpost's configuration shape and its defaults.
// Names follow Cloudflare Load Balancing's vocabulary (pools, origins, default_pools, fallback_pool,
// steering_policy, monitors) so an operator can read and migrate configs at first sight; durations carry
// their unit in the name.
import { z } from "zod";

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const nameSchema = z
  .string()
  .regex(NAME_PATTERN, "must be 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit");

/** An origin's base URL: absolute http(s), no credentials, query or fragment (the request supplies those). */
export const originAddressSchema = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: "custom", message: `not an absolute URL: "${value}"` });
    return;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    ctx.addIssue({ code: "custom", message: `must use http or https, not "${url.protocol.slice(0, -1)}"` });
  }
  if (url.username || url.password) ctx.addIssue({ code: "custom", message: "must not contain credentials" });
  if (url.search || url.hash) ctx.addIssue({ code: "custom", message: "must not contain a query or fragment" });
});

const hostnameSchema = z
  .string()
  .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, "must be a hostname, optionally with a port");

export const originSchema = z.strictObject({
  name: nameSchema,
  address: originAddressSchema,
  /** Share of traffic within the pool for weighted steering (0-1, as in Cloudflare Load Balancing). */
  weight: z.number().min(0).max(1).default(1),
  /** A disabled origin receives no traffic at all. */
  enabled: z.boolean().default(true),
  /** Request headers sent to this origin; only Host is supported (Load Balancing's shape: Host = ["name"]). */
  header: z.strictObject({ Host: z.array(hostnameSchema).length(1) }).optional(),
});

export const monitorSchema = z.strictObject({
  name: nameSchema,
  method: z.enum(["GET", "HEAD"]).default("GET"),
  path: z.string().startsWith("/", "must start with /").default("/"),
  /** Comma-separated codes or classes, for example "2xx" or "200,301". */
  expected_codes: z
    .string()
    .regex(/^\s*([1-5](xx|\d\d))(\s*,\s*[1-5](xx|\d\d))*\s*$/, 'must list status codes or classes, e.g. "2xx" or "200,204"')
    .default("2xx"),
  interval_seconds: z.int().min(60, "must be at least 60 (the cron trigger's granularity)").max(3600).default(60),
  timeout_ms: z.int().min(100).max(30_000).default(5_000),
  retries: z.int().min(0).max(5).default(1),
});

export const poolSchema = z
  .strictObject({
    name: nameSchema,
    origins: z.array(originSchema).min(1, "a pool needs at least one origin"),
    /** Coordinates for proximity steering. */
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    /** Name of a monitor in `monitors` that health-checks this pool's origins. */
    monitor: nameSchema.optional(),
  })
  .refine((pool) => (pool.latitude === undefined) === (pool.longitude === undefined), {
    message: "latitude and longitude must be set together",
    path: ["latitude"],
  });

export const routeSchema = z.strictObject({
  name: nameSchema,
  /** Host patterns in URLPattern hostname syntax: "example.com", "*.example.com", "*". */
  hosts: z.array(z.string().min(1)).min(1).default(["*"]),
  /** Path pattern in URLPattern pathname syntax: "/*", "/api/*", "/assets/:file". */
  path: z.string().startsWith("/", "must start with /").default("/*"),
  /** Pools in failover order. */
  default_pools: z.array(nameSchema).min(1, "a route needs at least one pool"),
  /** Tried after every default pool has failed. */
  fallback_pool: nameSchema.optional(),
  /** "off": the pools in default_pools order (ordered failover). */
  steering_policy: z.enum(["off"]).default("off"),
  /** How long one origin attempt may take to send response headers before the next origin is tried. */
  origin_timeout_ms: z.int().min(1).max(300_000).default(15_000),
  /** Bound on all attempts of one request together, until response headers arrive. */
  deadline_ms: z.int().min(1).max(600_000).default(30_000),
});

export const outpostConfigSchema = z.strictObject({
  routes: z.array(routeSchema).min(1, "at least one route is required"),
  pools: z.array(poolSchema).min(1, "at least one pool is required"),
  monitors: z.array(monitorSchema).default([]),
});

export type OutpostConfigInput = z.input<typeof outpostConfigSchema>;
export type OutpostConfig = z.output<typeof outpostConfigSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type PoolConfig = z.output<typeof poolSchema>;
export type OriginConfig = z.output<typeof originSchema>;
export type MonitorConfig = z.output<typeof monitorSchema>;

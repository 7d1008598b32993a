// Bindings the worker reads. `Env` is generated from wrangler.toml by `npm run types`
// (worker-configuration.d.ts); values that only ever arrive as secrets or overrides are added here.
export interface OutpostEnv extends Env {
  /** Origin URLs (primary first) that replace the configured pools and routes; set by `npm start -- --origin`. */
  OUTPOST_ORIGINS?: string;
  /** Health-check path for the OUTPOST_ORIGINS pools (`npm start -- --health-path`); default "/". */
  OUTPOST_HEALTH_PATH?: string;
  /** Bearer token for the admin API; unset means the admin API is closed. */
  OUTPOST_ADMIN_TOKEN?: string;
  /** Optional Workers Analytics Engine dataset: one data point per request when bound. */
  OUTPOST_ANALYTICS?: AnalyticsEngineDataset;
}

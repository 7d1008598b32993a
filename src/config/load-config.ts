// Reads the configuration from the Worker's env once per isolate (per env object) and validates it.
// A broken configuration never throws: the caller answers every request with a 500 and the log
// carries the full list of problems, once per isolate.
import { logEvent } from "../lib/log.ts";
import { configForOriginList, parseOriginList, validateConfig, type ConfigValidation } from "./validate-config.ts";

/** The env keys Outpost reads. `OUTPOST` comes from `[vars.OUTPOST]` in wrangler.toml. */
export interface ConfigEnv {
  OUTPOST?: unknown;
  OUTPOST_ORIGINS?: string;
  /** The path the OUTPOST_ORIGINS pools are health-checked on (`npm start -- --health-path`); default "/". */
  OUTPOST_HEALTH_PATH?: string;
}

const validations = new WeakMap<object, ConfigValidation>();

export function loadConfig(env: ConfigEnv): ConfigValidation {
  const cached = validations.get(env);
  if (cached) return cached;
  const validation = readConfig(env);
  if (!validation.ok) logEvent("error", "config_invalid", { problems: validation.problems });
  validations.set(env, validation);
  return validation;
}

/** Pure: the same env always gives the same validation. Also used by `npm run check`. */
export function readConfig(env: ConfigEnv): ConfigValidation {
  let raw: unknown = env.OUTPOST;
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch {
      return { ok: false, problems: ["OUTPOST: a string value must be JSON"] };
    }
  }
  if (env.OUTPOST_ORIGINS !== undefined && env.OUTPOST_ORIGINS.trim() !== "") {
    const { origins, problems } = parseOriginList(env.OUTPOST_ORIGINS);
    if (problems.length > 0) return { ok: false, problems };
    const base = isPlainObject(raw) ? raw : {};
    const healthPath = env.OUTPOST_HEALTH_PATH?.trim() || undefined;
    if (healthPath !== undefined && !healthPath.startsWith("/")) {
      return { ok: false, problems: [`OUTPOST_HEALTH_PATH: must start with / (got "${healthPath}")`] };
    }
    return validateConfig(configForOriginList(origins, base, healthPath));
  }
  if (raw === undefined) {
    return { ok: false, problems: ["OUTPOST: missing; define [vars.OUTPOST] in wrangler.toml or set OUTPOST_ORIGINS"] };
  }
  return validateConfig(raw);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

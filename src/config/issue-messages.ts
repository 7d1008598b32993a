// Outpost's voice for validation problems: "must be at least 0", "must be a whole number, not a string",
// "unknown key "steering_polcy" (did you mean "steering_policy"?)" instead of zod's "Too small: expected
// number to be >=0". A check that carries its own message keeps it (zod asks this map last). Installed
// once for every zod/mini schema of the worker and of `npm run check`, so both say the same thing.
import * as z from "zod/mini";

type RawIssue = z.core.$ZodRawIssue;

const KIND_NAMES: Record<string, string> = {
  array: "a list",
  object: "a table",
  record: "a table",
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
};

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a table";
  if (typeof value === "string") return value.length > 40 ? `the string "${value.slice(0, 37)}..."` : `the string "${value}"`;
  return String(value);
}

/** Levenshtein distance, small inputs only (config keys and option names). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known name closest to `input`, when it is close enough to be a typo (case ignored). */
export function closestName(input: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const distance = editDistance(input.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

const didYouMean = (suggestion: string | undefined) => (suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`);

/** The keys an object schema (or a record with an enum of keys) accepts; [] when unknown. */
export function knownKeysOf(schema: unknown): { keys: string[]; closedSet: boolean } {
  const def = (schema as { _zod?: { def?: { shape?: object; keyType?: { _zod?: { def?: { entries?: object } } } } } })?._zod?.def;
  if (def?.shape) return { keys: Object.keys(def.shape), closedSet: false };
  const entries = def?.keyType?._zod?.def?.entries;
  return { keys: entries ? Object.values(entries).map(String) : [], closedSet: entries !== undefined };
}

/** A typo gets the closest key; a table keyed by a code list (region_pools) names the codes. */
export function unknownKeyMessage(key: string, { keys, closedSet }: { keys: string[]; closedSet: boolean }): string {
  const suggestion = closestName(key, keys);
  if (suggestion === undefined && closedSet) return `unknown key "${key}" (one of ${keys.join(", ")})`;
  return `unknown key "${key}"${didYouMean(suggestion)}`;
}

function sizeMessage(issue: RawIssue & { code: "too_small" | "too_big" }): string | undefined {
  const small = issue.code === "too_small";
  const limit = Number(small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case "number":
    case "int":
    case "bigint":
      return `must be ${small ? (inclusive ? "at least" : "greater than") : inclusive ? "at most" : "less than"} ${limit}`;
    case "array":
    case "set":
      if (small && limit === 1) return "must not be empty";
      return `must list ${small ? "at least" : "at most"} ${limit} item${limit === 1 ? "" : "s"}`;
    case "string":
      if (small && limit === 1) return "must not be empty";
      return `must be ${small ? "at least" : "at most"} ${limit} characters long`;
    default:
      return undefined;
  }
}

/** zod's customError hook: a message for the issue, or undefined to let the locale speak. */
export function describeIssue(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type": {
      const expected = KIND_NAMES[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `is required (${expected})`;
      return `must be ${expected}, not ${describeValue(issue.input)}`;
    }
    case "too_small":
    case "too_big":
      return sizeMessage(issue);
    case "invalid_value": {
      const options = issue.values.map((value) => JSON.stringify(value));
      if (options.length === 1) return `must be ${options[0]}`;
      const suggestion = typeof issue.input === "string" ? closestName(issue.input, issue.values.map(String)) : undefined;
      return `must be one of ${options.join(", ")}${didYouMean(suggestion)}`;
    }
    case "unrecognized_keys":
      return issue.keys.map((key) => unknownKeyMessage(key, knownKeysOf(issue.inst))).join("; ");
    case "invalid_format":
      if (issue.format === "starts_with") return `must start with "${(issue as { prefix?: string }).prefix}"`;
      if (issue.format === "regex") return `must match ${(issue as { pattern?: string }).pattern}`;
      return `must be a valid ${issue.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "invalid_union":
      return "does not match any of the accepted forms";
    default:
      return undefined;
  }
}

z.config({ customError: describeIssue });

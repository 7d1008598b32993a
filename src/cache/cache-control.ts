// Parsing of Cache-Control style fields (RFC 9111 §5.2), also used for CDN-Cache-Control (RFC 9213)
// and Surrogate-Control. Directive names are case-insensitive; arguments may be tokens or quoted
// strings (RFC 9110 §5.6.4). A directive that appears twice with different arguments is recorded as
// conflicting: RFC 9111 §4.2.1 lets a cache then treat the response as stale, which we do.
export interface Directives {
  /** Lower-cased directive name -> argument (`true` when it has none). */
  readonly values: ReadonlyMap<string, string | true>;
  /** Names that appeared more than once with different arguments. */
  readonly conflicting: ReadonlySet<string>;
}

const EMPTY: Directives = { values: new Map(), conflicting: new Set() };

export function parseDirectives(field: string | null | undefined): Directives {
  if (!field) return EMPTY;
  const values = new Map<string, string | true>();
  const conflicting = new Set<string>();
  for (const part of splitOutsideQuotes(field)) {
    const equals = part.indexOf("=");
    const name = (equals < 0 ? part : part.slice(0, equals)).trim().toLowerCase();
    if (!name) continue;
    const raw = equals < 0 ? undefined : part.slice(equals + 1).trim();
    const argument: string | true = raw === undefined || raw === "" ? true : raw.startsWith('"') ? unquote(raw) : raw;
    const previous = values.get(name);
    if (previous === undefined) values.set(name, argument);
    else if (previous !== argument) conflicting.add(name);
  }
  return { values, conflicting };
}

/** Splits on commas that are not inside a quoted string. */
function splitOutsideQuotes(field: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let index = 0; index < field.length; index += 1) {
    const char = field[index]!;
    if (char === "\\" && quoted) {
      current += char + (field[index + 1] ?? "");
      index += 1;
    } else if (char === '"') {
      quoted = !quoted;
      current += char;
    } else if (char === "," && !quoted) {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function unquote(raw: string): string {
  const inner = raw.endsWith('"') && raw.length > 1 ? raw.slice(1, -1) : raw.slice(1);
  return inner.replace(/\\(.)/g, "$1");
}

/**
 * A delta-seconds argument (RFC 9111 §1.2.2): non-negative integer; larger values than 2^31 are
 * clamped. Anything else (missing, negative, fractional, text) is invalid: undefined.
 */
export function deltaSeconds(directives: Directives, name: string): number | undefined {
  const value = directives.values.get(name);
  if (typeof value !== "string" || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), 2 ** 31);
}

export function has(directives: Directives, name: string): boolean {
  return directives.values.has(name);
}

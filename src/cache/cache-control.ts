// Parsing of Cache-Control style fields (RFC 9111 §5.2), also used for Surrogate-Control (not a
// Structured Field: the Edge Architecture note predates them). Directive names are case-insensitive;
// arguments may be tokens or quoted strings (RFC 9110 §5.6.4). A directive that appears twice with
// different arguments is recorded as conflicting: RFC 9111 §4.2.1 lets a cache then treat the
// response as stale, which we do.
// CDN-Cache-Control is a Structured Field Dictionary (RFC 9213 §2.1, RFC 9651 §3.2) and has its own
// parser below: the two grammars differ on errors, and RFC 9213 warns that using a Cache-Control
// parser for it breaks interoperability.
import { parseDictionary, Token, type BareItem, type InnerList, type Item } from "structured-headers";
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

/** Directives whose argument is a delta-seconds: an Integer in a Structured Field (RFC 9213 §2.1). */
const INTEGER_DIRECTIVES = new Set(["max-age", "s-maxage", "stale-while-revalidate", "stale-if-error"]);
/** Directives without an argument: always Boolean true in a Structured Field (RFC 9213 §2.1). */
const FLAG_DIRECTIVES = new Set(["no-store", "must-revalidate", "proxy-revalidate", "public", "must-understand", "no-transform", "immutable"]);
/** Directives that are bare or carry a list of field names as a String (RFC 9213 §2.1, RFC 9111 §5.2.2.4, §5.2.2.7). */
const FLAG_OR_FIELD_NAMES_DIRECTIVES = new Set(["no-cache", "private"]);

/**
 * A targeted field such as CDN-Cache-Control (RFC 9213 §2.1): a Structured Field Dictionary whose
 * members are cache directives, parameters ignored. Undefined when the field is absent, empty, does
 * not parse, or gives a known directive a value of the wrong type (`max-age="60"`, `max-age=-1`,
 * `no-store=?0`): RFC 9213 §2.1 has such a field ignored as a whole, as if it were not there, so
 * Cache-Control applies. (A Decimal with no fraction, `max-age=60.0`, reads as 60: the parser
 * returns both number types as one.)
 */
export function parseTargetedDirectives(field: string | null | undefined): Directives | undefined {
  if (field === null || field === undefined) return undefined;
  let dictionary: Map<string, Item | InnerList>;
  try {
    dictionary = parseDictionary(field);
  } catch {
    return undefined;
  }
  if (dictionary.size === 0) return undefined;
  const values = new Map<string, string | true>();
  for (const [name, [value]] of dictionary) {
    const argument = directiveArgument(name, value);
    if (argument === undefined) return undefined;
    values.set(name, argument);
  }
  // A Dictionary keeps the last of duplicate keys (RFC 9651 §4.2.2): nothing conflicts.
  return { values, conflicting: new Set() };
}

/** A member's value as parseDirectives would give it, or undefined when its type is wrong for the directive. */
function directiveArgument(name: string, value: BareItem | Item[]): string | true | undefined {
  if (INTEGER_DIRECTIVES.has(name)) return typeof value === "number" && Number.isInteger(value) && value >= 0 ? String(value) : undefined;
  if (FLAG_DIRECTIVES.has(name)) return value === true ? true : undefined;
  const text = typeof value === "string" ? value : value instanceof Token ? value.toString() : undefined;
  if (FLAG_OR_FIELD_NAMES_DIRECTIVES.has(name)) return value === true ? true : text;
  // Extension directives (RFC 9111 §5.2.3): any type; only their presence matters here.
  return text ?? true;
}

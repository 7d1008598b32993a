// Vary (RFC 9111 §4.1): responses that differ by request headers are stored as variants under a
// marker that names those headers. Accept-Encoding is not a variant dimension here: the Workers
// runtime decodes origin bodies and encodes each response for its own client.
//
// A variant is selected by the request's values compared exactly: §4.1 allows normalising only
// what the field's syntax makes equivalent, and a generic cache cannot know which fields are
// case-insensitive (Cookie and Authorization are not: a case-folded match served one visitor's
// session to another). So only whitespace is normalised: leading and trailing whitespace (RFC 9110
// §5.5) and the optional whitespace around list commas (RFC 9110 §5.6.1), never inside a quoted
// string. A field the request does not send is distinct from one sent empty.
import { sha256Hex } from "./cache-key.ts";
import type { VaryMarkerMeta } from "./entry.ts";

const HANDLED_BY_RUNTIME = new Set(["accept-encoding"]);

/**
 * Part of every variant key's hashed text. v2: values compared exactly, absent distinct from empty.
 * Variants stored under v1 (case-folded values) are never found again: a v1 entry selected by a
 * folded value must not answer the request whose exact value differs, so they are orphaned (a miss
 * each, then garbage collected by their tiers' expiry) rather than reused.
 */
const VARIANT_FORMAT = "v2";

export function varyHeaderNames(vary: string | null): string[] {
  const names = (vary ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name && !HANDLED_BY_RUNTIME.has(name));
  return [...new Set(names)].sort();
}

/** A field value with the whitespace HTTP lets a recipient drop removed; everything else as sent. */
export function normalizeFieldValue(value: string): string {
  const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, "");
  if (!/[ \t],|,[ \t]/.test(trimmed)) return trimmed; // the common case: nothing to do
  let out = "";
  let quoted = false;
  for (let index = 0; index < trimmed.length; index += 1) {
    const char = trimmed[index]!;
    if (quoted) {
      out += char;
      if (char === "\\" && index + 1 < trimmed.length) out += trimmed[++index];
      else if (char === '"') quoted = false;
    } else if (char === '"') {
      quoted = true;
      out += char;
    } else if (char === ",") {
      out = out.replace(/[ \t]+$/, "") + ",";
      while (trimmed[index + 1] === " " || trimmed[index + 1] === "\t") index += 1;
    } else {
      out += char;
    }
  }
  return out;
}

/** One line per name: `name:value` when sent, `name` alone when absent (names never contain ":"). */
export function variantValues(names: string[], headers: Headers): string {
  return names
    .map((name) => {
      const value = headers.get(name);
      return value === null ? name : `${name}:${normalizeFieldValue(value)}`;
    })
    .join("\n");
}

export async function variantKey(key: string, marker: Pick<VaryMarkerMeta, "headers" | "generation">, headers: Headers): Promise<string> {
  const hashed = `${VARIANT_FORMAT}\n${variantValues(marker.headers, headers)}`;
  return `${key}|g:${marker.generation}|${(await sha256Hex(hashed)).slice(0, 32)}`;
}

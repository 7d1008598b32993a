// Vary (RFC 9111 §4.1): responses that differ by request headers are stored as variants under a
// marker that names those headers. Accept-Encoding is not a variant dimension here: the Workers
// runtime decodes origin bodies and encodes each response for its own client.
import { sha256Hex } from "./cache-key.ts";
import type { VaryMarkerMeta } from "./entry.ts";

const HANDLED_BY_RUNTIME = new Set(["accept-encoding"]);

export function varyHeaderNames(vary: string | null): string[] {
  const names = (vary ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name && !HANDLED_BY_RUNTIME.has(name));
  return [...new Set(names)].sort();
}

/** A request header's value for variant matching: white space folded, case ignored. */
function normalizedValue(headers: Headers, name: string): string {
  return (headers.get(name) ?? "").trim().replace(/\s+/g, " ").toLowerCase();
}

export function variantValues(names: string[], headers: Headers): string {
  return names.map((name) => `${name}:${normalizedValue(headers, name)}`).join("\n");
}

export async function variantKey(key: string, marker: Pick<VaryMarkerMeta, "headers" | "generation">, headers: Headers): Promise<string> {
  return `${key}|g:${marker.generation}|${(await sha256Hex(variantValues(marker.headers, headers))).slice(0, 32)}`;
}

// The Cache-Status response header (RFC 9211), one entry for this cache, named Outpost.
import { sfString } from "../lib/headers.ts";

export const CACHE_NAME = "Outpost";

export type ForwardReason = "miss" | "stale" | "bypass" | "method" | "uri-miss" | "vary-miss" | "request";

export interface CacheStatus {
  hit?: boolean;
  fwd?: ForwardReason;
  fwdStatus?: number;
  ttl?: number;
  stored?: boolean;
  collapsed?: boolean;
  key?: string;
  detail?: string;
}

export function formatCacheStatus(status: CacheStatus): string {
  const parts = [CACHE_NAME];
  if (status.hit) parts.push("hit");
  if (status.fwd) parts.push(`fwd=${status.fwd}`);
  if (status.fwdStatus !== undefined) parts.push(`fwd-status=${status.fwdStatus}`);
  if (status.ttl !== undefined) parts.push(`ttl=${status.ttl}`);
  if (status.stored) parts.push("stored");
  if (status.collapsed) parts.push("collapsed");
  if (status.key !== undefined) parts.push(`key=${sfString(status.key)}`);
  if (status.detail !== undefined) parts.push(`detail=${/^[A-Za-z][A-Za-z0-9_.:/-]*$/.test(status.detail) ? status.detail : sfString(status.detail)}`);
  return parts.join("; ");
}

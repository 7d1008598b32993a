// Replaying a log through the simulated locations. The simulator's own format is NDJSON, one request
// per line (docs/simulator.md):
//   {"t": 12.5, "colo": "FRA", "method": "GET", "url": "/c/page/1", "headers": {"user-agent": "..."}}
// - t: seconds from the log's start (a number), or "time": an ISO 8601 date or epoch milliseconds;
// - colo (a simulated location) or country (ISO code: the simulated location in that country, else
//   on its continent); neither: spread over the locations by a hash of the line;
// - method (default GET); url: a path with query, or an absolute URL (only path and query are used);
// - headers: only REPLAYED_HEADERS are sent, the rest are dropped.
// Importers turn Cloudflare Logpush http_requests lines (JSON) and the combined log format into it;
// a file may mix formats: each line is recognised by its shape.
import { readFileSync } from "node:fs";
import { locationForCountry } from "./locations.mjs";

export const REPLAYED_HEADERS = ["accept", "accept-encoding", "accept-language", "authorization", "cookie", "if-modified-since", "if-none-match", "range", "referer", "user-agent"];

const MONTHS = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
// %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
const COMBINED = /^(\S+) \S+ \S+ \[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\] "(\S+) (\S+)(?: [^"]*)?" \d{3} \S+(?: "([^"]*)" "([^"]*)")?/;

function selectHeaders(headers = {}) {
  const selected = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (REPLAYED_HEADERS.includes(lower) && typeof value === "string" && value !== "" && value !== "-") selected[lower] = value;
  }
  return selected;
}

function pathOf(url) {
  if (/^https?:\/\//i.test(url)) {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  }
  return url.startsWith("/") ? url : `/${url}`;
}

/** Epoch ms from Logpush's EdgeStartTimestamp: RFC 3339, unix seconds, ms or ns. */
function logpushTime(value) {
  if (typeof value === "string" && !/^\d+$/.test(value)) return Date.parse(value);
  const number = Number(value);
  if (number > 1e17) return Math.round(number / 1e6); // nanoseconds (beyond 2^53: rounded to the ms)
  if (number > 1e11) return number; // milliseconds
  return number * 1000; // seconds
}

/** One Cloudflare Logpush http_requests record as a replay line. */
export function importLogpush(record) {
  return {
    time: logpushTime(record.EdgeStartTimestamp),
    ...(record.EdgeColoCode && { colo: String(record.EdgeColoCode).toUpperCase() }),
    ...(record.ClientCountry && { country: String(record.ClientCountry).toUpperCase() }),
    method: record.ClientRequestMethod ?? "GET",
    url: record.ClientRequestURI ?? record.ClientRequestPath ?? "/",
    headers: selectHeaders({ "user-agent": record.ClientRequestUserAgent, referer: record.ClientRequestReferer }),
  };
}

/** One combined-log line as a replay line (no geography: `client` keeps the address for spreading). */
export function importCombined(line) {
  const match = COMBINED.exec(line);
  if (!match) return undefined;
  const [, client, day, month, year, hour, minute, second, zone, method, target, referer, userAgent] = match;
  const offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  const time = Date.UTC(Number(year), MONTHS[month], Number(day), Number(hour), Number(minute), Number(second)) - offsetMinutes * 60_000;
  return { time, client, method, url: target, headers: selectHeaders({ referer, "user-agent": userAgent }) };
}

/** Any supported line as a replay line, or undefined (blank, comment, unrecognised). */
export function parseLine(line) {
  const text = line.trim();
  if (text === "" || text.startsWith("#")) return undefined;
  if (text.startsWith("{")) {
    const record = JSON.parse(text);
    if ("EdgeStartTimestamp" in record || "ClientRequestURI" in record) return importLogpush(record);
    return { ...record, headers: selectHeaders(record.headers) };
  }
  return importCombined(text);
}

function spread(text, colos) {
  let hash = 0;
  for (let index = 0; index < text.length; index += 1) hash = (hash * 31 + text.charCodeAt(index)) >>> 0;
  return colos[hash % colos.length];
}

/**
 * A log's text as the simulator's requests: [{ at (real ms from start), colo, method, url, headers }],
 * sorted. Times are the log's, divided by `scale`; `skipped` counts lines that were not requests.
 */
export function planReplay(text, { colos, scale = 1 }) {
  const parsed = [];
  let skipped = 0;
  let index = 0;
  for (const line of text.split("\n")) {
    index += 1;
    let entry;
    try {
      entry = parseLine(line);
    } catch {
      entry = undefined;
    }
    if (!entry || typeof entry.url !== "string") {
      if (line.trim() !== "" && !line.trim().startsWith("#")) skipped += 1;
      continue;
    }
    const seconds = typeof entry.t === "number" ? entry.t : undefined;
    const time = seconds === undefined ? (typeof entry.time === "number" ? entry.time : Date.parse(entry.time)) : undefined;
    if (seconds === undefined && !Number.isFinite(time)) {
      skipped += 1;
      continue;
    }
    const colo = entry.colo && colos.includes(entry.colo) ? entry.colo : entry.country ? locationForCountry(entry.country, colos) : spread(entry.client ?? `${index}`, colos);
    parsed.push({ seconds, time, colo, method: (entry.method ?? "GET").toUpperCase(), url: pathOf(entry.url), headers: entry.headers ?? {} });
  }
  const start = Math.min(...parsed.map((entry) => (entry.seconds !== undefined ? entry.seconds * 1000 : entry.time)));
  const requests = parsed
    .map(({ seconds, time, ...request }) => ({ ...request, at: ((seconds !== undefined ? seconds * 1000 : time) - start) / scale }))
    .sort((a, b) => a.at - b.at);
  return { requests, skipped };
}

export function readReplay(path, options) {
  return planReplay(readFileSync(path, "utf8"), options);
}

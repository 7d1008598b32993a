// What `npm run sim -- --shield` measures about the origin shield (docs/simulator.md, "Origin shield"):
// the burst (origin requests for one new object missed everywhere at once), origin requests per
// distinct object per TTL window in the world traffic, and the fallback while the shield fails; each
// against the KV-only baseline of the same run where a ratio is asked for, the `--quick` gate's
// shield checks, and the table printed and rendered in the report.
import { classForPath, hashString } from "./traffic.mjs";

/** The world target: origin requests per distinct object per TTL window, with the shield. */
export const SHIELD_WINDOW_RATIO_TARGET = 1.1;

/** Server-Timing's `shield` phase (`shield;dur=12.3;desc="hit"`): the shield's outcome and its duration, or null. */
export function readShieldPhase(header) {
  for (const entry of (header ?? "").split(",")) {
    const [name, ...params] = entry.split(";").map((part) => part.trim());
    if (name !== "shield") continue;
    const param = (key) => params.find((part) => part.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1).replace(/^"(.*)"$/, "$1");
    const dur = Number(param("dur"));
    return { desc: param("desc") ?? "", durMs: Number.isFinite(dur) ? dur : null };
  }
  return null;
}

/** A response the location answered after fetching the origin itself because the shield failed (Cache-Status detail). */
export function isShieldBypass(cacheStatus) {
  return /detail="?shield-bypass\b/.test(cacheStatus ?? "");
}

/**
 * Whether a path goes through the shielded route in a `--shield` run: catalogue objects of even rank
 * (/c/<class>/<even n>), other paths by a hash; the rest is the same run's KV-only baseline.
 */
export function isShieldedPath(path) {
  const id = path.split("?")[0].split("/").pop() ?? "";
  const rank = /^\d+$/.test(id) ? Number(id) : hashString(path);
  return rank % 2 === 0;
}

/**
 * Origin requests per distinct object fetched per TTL window, per group, from the origins' log
 * ({ path, at, probe, personal }). For each cacheable object, its origin requests in time order: the
 * first opens a window as long as the object's max-age as the origin states it (the class's TTL /
 * scale, at least 1 s); the first request after a window has closed opens the next. The windows are
 * the fetches one cache shared by every location would have made (one per object per freshness
 * lifetime); the ratio is all origin requests over the windows (1.0: no duplicate fetch). Left out:
 * the simulator's probes, uncacheable paths (/api/*, no-store), personalised requests (a cookie the
 * route bypasses the cache for), what `exclude` names (the burst's objects) and requests made in a
 * `skipped` window ({ fromAt, toAt }: while the shield was failing, when every location fetches for
 * itself by design; counted in `leftOut`). A purge ({ at, paths }, paths null: everything) ends the
 * windows of what it purged. With `perOrigin`, an object's requests at each origin server are counted
 * as a distinct object (one cache per pool).
 */
export function fetchesPerTtlWindow(originLog, { scale, groupOf, exclude = () => false, perOrigin = false, purges = [], skipped = [] }) {
  const byObject = new Map();
  const inSkipped = (at) => skipped.some((window) => at >= window.fromAt && at < window.toAt);
  let left = 0;
  for (const seen of originLog) {
    if (seen.probe || seen.personal || exclude(seen.path)) continue;
    if (inSkipped(seen.at)) {
      if (classForPath(seen.path).ttlSeconds > 0) left += 1;
      continue;
    }
    if (classForPath(seen.path).ttlSeconds === 0) continue;
    // perOrigin: an object at each origin server is counted apart (a shield is per pool).
    const key = perOrigin ? `${seen.origin} ${seen.path}` : seen.path;
    let entry = byObject.get(key);
    if (!entry) byObject.set(key, (entry = { path: seen.path, times: [] }));
    entry.times.push(seen.at);
  }
  const groups = {};
  for (const { path, times } of byObject.values()) {
    const ttlMs = Math.max(1, Math.round(classForPath(path).ttlSeconds / scale)) * 1000;
    times.sort((a, b) => a - b);
    // A purge of this object (or of everything) ends its window: the next fetch is a new one.
    const purgedAt = purges.filter((purge) => purge.paths === null || purge.paths.includes(path)).map((purge) => purge.at);
    let windows = 0;
    let windowEnds = Number.NEGATIVE_INFINITY;
    let windowStarts = Number.NEGATIVE_INFINITY;
    for (const at of times) {
      if (at >= windowEnds || purgedAt.some((purgeAt) => purgeAt > windowStarts && purgeAt <= at)) {
        windows += 1;
        windowStarts = at;
        windowEnds = at + ttlMs;
      }
    }
    const group = (groups[groupOf(path)] ??= { objects: 0, originRequests: 0, objectWindows: 0 });
    group.objects += 1;
    group.originRequests += times.length;
    group.objectWindows += windows;
  }
  for (const group of Object.values(groups)) group.ratio = group.objectWindows ? Number((group.originRequests / group.objectWindows).toFixed(3)) : null;
  if (skipped.length > 0) groups.leftOut = left;
  return groups;
}

/** What the traffic saw while a fault was in force: per location, requests, failed, bypass and the shield's outcomes. */
export function describeFaultWindow({ label, fromAt, toAt, fromSimSeconds, toSimSeconds }, answers, colos) {
  const perLocation = {};
  const total = { requests: 0, failed: 0, bypass: 0, outcomes: {}, p95Ms: 0 };
  const latencies = [];
  for (const colo of colos) {
    const during = answers.filter((answer) => answer.colo === colo && answer.sentAt >= fromAt && answer.sentAt < toAt);
    const seen = { requests: during.length, failed: during.filter((answer) => answer.error).length, bypass: during.filter((answer) => answer.shieldBypass).length };
    perLocation[colo] = seen;
    total.requests += seen.requests;
    total.failed += seen.failed;
    total.bypass += seen.bypass;
    for (const answer of during) {
      latencies.push(answer.latencyMs);
      if (answer.shieldOutcome) total.outcomes[answer.shieldOutcome] = (total.outcomes[answer.shieldOutcome] ?? 0) + 1;
    }
  }
  latencies.sort((a, b) => a - b);
  total.p95Ms = latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.95))] : 0;
  return { label, fromSimSeconds, toSimSeconds, realSeconds: Number(((toAt - fromAt) / 1000).toFixed(1)), ...total, perLocation };
}

/** The `--quick` gate's shield checks (problems; empty when the shield held its targets). */
export function checkShield(shield) {
  const problems = [];
  if (!shield) return problems;
  for (const burst of shield.burst?.rounds ?? []) {
    const label = `shield burst ${burst.round} (${burst.steering})`;
    // One pool: one shield shard for the object, so one origin request. Geo: a shield per pool, so at most one per pool's origin.
    if (burst.steering === "one pool" && burst.shield.originRequests !== 1) problems.push(`${label}: ${burst.shield.originRequests} origin requests for one new object missed by ${burst.shield.requests} requests at once (target 1)`);
    const perOrigin = Math.max(0, ...Object.values(burst.shield.byOrigin ?? {}));
    if (burst.steering !== "one pool" && perOrigin > 1) problems.push(`${label}: ${perOrigin} origin requests at one origin for one new object (target 1 per pool's origin)`);
    if (burst.shield.failed > 0) problems.push(`${label}: ${burst.shield.failed} failed client requests`);
  }
  for (const window of shield.faults ?? []) {
    if (window.failed > 0) problems.push(`shield fault "${window.label}": ${window.failed} failed client requests (target 0)`);
  }
  if ((shield.faults ?? []).length > 0 && shield.faults.every((window) => window.bypass === 0)) problems.push("shield faults: no response fell back to the origin (detail=shield-bypass) while the shield failed");
  return problems;
}

const integer = (value) => (value === null || value === undefined ? "-" : Number(value).toLocaleString("en"));

/** The shield's figures as table rows: [measurement, with the shield, KV-only baseline, target, result]. */
export function shieldRows(shield) {
  const rows = [];
  const origins = (byOrigin) => Object.entries(byOrigin ?? {}).map(([origin, count]) => `${origin} ${count}`).join(", ");
  for (const burst of shield.burst?.rounds ?? []) {
    const onePool = burst.steering === "one pool";
    const perOrigin = Math.max(0, ...Object.values(burst.shield.byOrigin ?? {}));
    rows.push([
      `burst ${burst.round}, ${burst.steering}: origin requests for 1 new object, ${burst.shield.requests} concurrent misses (${burst.locations} locations x ${burst.perLocation})`,
      `${integer(burst.shield.originRequests)}${onePool ? "" : ` (${origins(burst.shield.byOrigin)})`}`,
      `${integer(burst.kvOnly.originRequests)}${onePool ? "" : ` (${origins(burst.kvOnly.byOrigin)})`}`,
      onePool ? "1" : "1 per origin",
      (onePool ? burst.shield.originRequests === 1 : perOrigin <= 1) && burst.shield.failed === 0 ? "met" : "MISSED",
    ]);
  }
  for (const [name, windows, what] of [
    ["world", shield.world, "per distinct object"],
    ["world, per origin", shield.worldPerOrigin, "per distinct object and origin"],
  ]) {
    if (!windows?.shield || !windows?.kvOnly) continue;
    rows.push([
      `${name}: origin requests ${what} per TTL window (${integer(windows.shield.originRequests)} / ${integer(windows.shield.objectWindows)} with, ${integer(windows.kvOnly.originRequests)} / ${integer(windows.kvOnly.objectWindows)} without)`,
      windows.shield.ratio,
      windows.kvOnly.ratio,
      `<= ${SHIELD_WINDOW_RATIO_TARGET}`,
      windows.shield.ratio !== null && windows.shield.ratio <= SHIELD_WINDOW_RATIO_TARGET ? "met" : "MISSED",
    ]);
  }
  for (const window of shield.faults ?? []) {
    rows.push([`${window.label} (${window.fromSimSeconds}-${window.toSimSeconds} s sim): failed client requests / fallbacks (shield-bypass) of ${integer(window.requests)}`, `${integer(window.failed)} / ${integer(window.bypass)}`, "", "0 failed, > 0 fallbacks", window.failed === 0 && window.bypass > 0 ? "met" : window.failed === 0 ? "no fallback" : "MISSED"]);
  }
  return rows;
}

export const SHIELD_COLUMNS = ["measurement", "with the shield", "KV-only (same run)", "target", "result"];

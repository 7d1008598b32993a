// What a simulator run measured, summed per location and in total, the checks `--quick` enforces, a
// projected monthly cost, and the HTML report (inline SVG charts, no scripts, no external files).
import { SHIELD_COLUMNS, checkShield, isShieldBypass, readShieldPhase, shieldRows } from "./shield-report.mjs";
import { HEALTH_COLUMNS, healthRows } from "./health-report.mjs";

/** Cloudflare's published prices (Workers Paid plan), with the page each comes from (docs/simulator.md). */
export const PRICES = {
  source: ["https://developers.cloudflare.com/workers/platform/pricing/", "https://developers.cloudflare.com/kv/platform/pricing/"],
  workersBaseUsdPerMonth: 5,
  workersRequests: { includedPerMonth: 10_000_000, usdPerMillion: 0.3 },
  kvReads: { includedPerMonth: 10_000_000, usdPerMillion: 0.5 },
  kvWrites: { includedPerMonth: 1_000_000, usdPerMillion: 5 },
  kvDeletes: { includedPerMonth: 1_000_000, usdPerMillion: 5 },
  kvLists: { includedPerMonth: 1_000_000, usdPerMillion: 5 },
};

/**
 * A response's Cache-Status (Outpost's entry, RFC 9211) as the simulator counts it: a hit and its
 * tier (memory, colo, kv), stale served (stale-while-revalidate, stale-if-error), a collapsed wait,
 * a bypass (uncacheable or personalised) or a miss (the location went to the origin).
 */
export function classifyCacheStatus(header) {
  const text = header ?? "";
  const detail = /detail=("?)([^";]*)\1/.exec(text)?.[2] ?? "";
  const fwd = /fwd=([a-z-]+)/.exec(text)?.[1];
  if (/;\s*hit\b/.test(text)) {
    const [tier, reason] = detail.split(":");
    return { kind: reason === "stale-while-revalidate" ? "stale-swr" : "hit", tier: tier || "unknown" };
  }
  if (detail === "stale-if-error") return { kind: "stale-sie" };
  if (detail === "collapsed") return { kind: "collapsed" };
  if (fwd === "bypass" || fwd === "method" || detail.startsWith("recently-uncacheable")) return { kind: "bypass" };
  if (text === "") return { kind: "none" };
  return { kind: "miss", fwd };
}

/** Outpost-Upstream's pool, origin and attempts (attempts > 1: failover happened). */
export function parseUpstream(header) {
  const field = (name) => new RegExp(`${name}=("?)([^",]*)\\1`).exec(header ?? "")?.[2];
  return { pool: field("pool"), origin: field("origin"), attempts: Number(field("attempts") ?? 0) };
}

export function emptyLocationStats() {
  return {
    requests: 0,
    hits: { memory: 0, colo: 0, kv: 0, unknown: 0 },
    staleServed: { staleWhileRevalidate: 0, staleIfError: 0 },
    misses: 0,
    collapsed: 0,
    bypass: 0,
    errors: 0,
    errorStatuses: {},
    failovers: 0,
    shed: 0,
    impossibleHits: 0,
    /** Origin shield: answers fetched past a failed shield (detail=shield-bypass), and the shield's outcomes (Server-Timing). */
    shieldBypass: 0,
    shieldOutcomes: {},
    latencyMs: [],
  };
}

/** Adds one response to a location's counters; `expectedPool` is the pool steering picks first there. */
export function countResponse(stats, { status, cacheStatus, upstream, serverTiming, latencyMs, impossible }, expectedPool) {
  stats.requests += 1;
  stats.latencyMs.push(latencyMs);
  const classified = classifyCacheStatus(cacheStatus);
  if (classified.kind === "hit") stats.hits[classified.tier in stats.hits ? classified.tier : "unknown"] += 1;
  else if (classified.kind === "stale-swr") {
    stats.hits[classified.tier in stats.hits ? classified.tier : "unknown"] += 1;
    stats.staleServed.staleWhileRevalidate += 1;
  } else if (classified.kind === "stale-sie") stats.staleServed.staleIfError += 1;
  else if (classified.kind === "collapsed") stats.collapsed += 1;
  else if (classified.kind === "bypass") stats.bypass += 1;
  else stats.misses += 1;
  if (status >= 500 || status === 0) {
    stats.errors += 1;
    stats.errorStatuses[status] = (stats.errorStatuses[status] ?? 0) + 1;
  }
  const parsed = parseUpstream(upstream);
  if (parsed.attempts > 1 || (parsed.pool && expectedPool && parsed.pool !== expectedPool)) stats.failovers += 1;
  if (impossible) stats.impossibleHits += 1;
  if (isShieldBypass(cacheStatus)) stats.shieldBypass += 1;
  const shield = readShieldPhase(serverTiming);
  if (shield) stats.shieldOutcomes[shield.desc] = (stats.shieldOutcomes[shield.desc] ?? 0) + 1;
  return classified;
}

function percentile(values, share) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

/** Final figures of a location: hit ratios (all requests, and cacheable ones), latency percentiles. */
export function finishLocationStats(stats) {
  const { latencyMs, ...rest } = stats;
  const hits = stats.hits.memory + stats.hits.colo + stats.hits.kv + stats.hits.unknown;
  const cacheable = stats.requests - stats.bypass;
  const ratio = (part, whole) => (whole > 0 ? Number((part / whole).toFixed(4)) : 0);
  return {
    ...rest,
    hitRatio: ratio(hits, stats.requests),
    cacheableHitRatio: ratio(hits, cacheable),
    hitRatioByTier: { memory: ratio(stats.hits.memory, cacheable), colo: ratio(stats.hits.colo, cacheable), kv: ratio(stats.hits.kv, cacheable) },
    latencyMs: { p50: percentile(latencyMs, 0.5), p95: percentile(latencyMs, 0.95), p99: percentile(latencyMs, 0.99) },
  };
}

/** Sums location stats (before finishing) into one. */
export function sumStats(all) {
  const total = emptyLocationStats();
  for (const stats of all) {
    for (const key of ["requests", "misses", "collapsed", "bypass", "errors", "failovers", "shed", "impossibleHits", "shieldBypass"]) total[key] += stats[key];
    for (const [outcome, count] of Object.entries(stats.shieldOutcomes)) total.shieldOutcomes[outcome] = (total.shieldOutcomes[outcome] ?? 0) + count;
    for (const tier of Object.keys(total.hits)) total.hits[tier] += stats.hits[tier];
    total.staleServed.staleWhileRevalidate += stats.staleServed.staleWhileRevalidate;
    total.staleServed.staleIfError += stats.staleServed.staleIfError;
    for (const [status, count] of Object.entries(stats.errorStatuses)) total.errorStatuses[status] = (total.errorStatuses[status] ?? 0) + count;
    total.latencyMs.push(...stats.latencyMs);
  }
  return total;
}

/**
 * Monthly cost of `monthlyRequests` at the run's rates of KV operations per request (every KV read is
 * billed, cached at the location or not; a null read too), Workers Paid included amounts deducted.
 */
export function projectMonthlyCost({ requests, kvOps }, monthlyRequests, prices = PRICES) {
  const perRequest = (count) => (requests > 0 ? count / requests : 0);
  const line = (volume, price) => ({ volume: Math.round(volume), usd: Number(((Math.max(0, volume - price.includedPerMonth) / 1e6) * price.usdPerMillion).toFixed(2)) });
  const lines = {
    workersRequests: line(monthlyRequests, prices.workersRequests),
    kvReads: line(monthlyRequests * perRequest(kvOps.get), prices.kvReads),
    kvWrites: line(monthlyRequests * perRequest(kvOps.put), prices.kvWrites),
    kvDeletes: line(monthlyRequests * perRequest(kvOps.delete), prices.kvDeletes),
    kvLists: line(monthlyRequests * perRequest(kvOps.list), prices.kvLists),
  };
  const usage = Object.values(lines).reduce((sum, item) => sum + item.usd, 0);
  return { monthlyRequests, basePlanUsd: prices.workersBaseUsdPerMonth, lines, totalUsd: Number((usage + prices.workersBaseUsdPerMonth).toFixed(2)), prices };
}

/** The `--quick` gate: problems that fail the run (empty when it passed). */
export function checkRun(result) {
  const problems = [];
  for (const [colo, stats] of Object.entries(result.locations)) {
    if (stats.errors > 0) problems.push(`${colo}: ${stats.errors} error responses (${JSON.stringify(stats.errorStatuses)})`);
    if (stats.impossibleHits > 0) problems.push(`${colo}: ${stats.impossibleHits} hits for objects no origin had served yet`);
    if (stats.requests === 0) problems.push(`${colo}: no requests were answered`);
    if (stats.hitRatio < 0 || stats.hitRatio > 1) problems.push(`${colo}: hit ratio ${stats.hitRatio} outside 0..1`);
  }
  for (const purge of result.purges) {
    for (const [colo, convergence] of Object.entries(purge.convergenceMs)) {
      if (convergence === null) problems.push(`purge ${purge.label}: ${colo} still served the purged copy after the bound of ${purge.boundMs} ms`);
      else if (convergence > purge.boundMs) problems.push(`purge ${purge.label}: ${colo} converged after ${convergence} ms, bound ${purge.boundMs} ms`);
    }
    // With the coordinator, the receipt read after every location converged must name them all.
    if (purge.receipt && !(purge.receipt.status === 200 && purge.receipt.complete && purge.receipt.pending.length === 0)) {
      problems.push(`purge ${purge.label}: its receipt is not complete: ${JSON.stringify(purge.receipt)}`);
    }
  }
  problems.push(...checkShield(result.shield));
  return problems;
}

// ---- HTML ----------------------------------------------------------------------------------------

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char]);
}

/** A line chart: one series per location over the run's buckets. */
export function lineChart({ title, series, bucketSeconds, yMax, yLabel, id }) {
  const width = 640;
  const height = 240;
  const pad = { left: 48, right: 110, top: 24, bottom: 32 };
  const names = Object.keys(series);
  const length = Math.max(1, ...names.map((name) => series[name].length));
  const max = yMax ?? Math.max(1, ...names.flatMap((name) => series[name]));
  const x = (index) => pad.left + (index / Math.max(1, length - 1)) * (width - pad.left - pad.right);
  const y = (value) => height - pad.bottom - (value / max) * (height - pad.top - pad.bottom);
  const lines = names.map((name, index) => {
    const points = series[name].map((value, at) => `${x(at).toFixed(1)},${y(value).toFixed(1)}`).join(" ");
    const color = COLORS[index % COLORS.length];
    return `<polyline class="series" data-location="${escapeHtml(name)}" fill="none" stroke="${color}" stroke-width="1.5" points="${points}"/>` +
      `<text x="${width - pad.right + 8}" y="${pad.top + 14 * index}" font-size="11" fill="${color}">${escapeHtml(name)}</text>`;
  });
  return `<svg id="${id}" role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<text x="${pad.left}" y="14" font-size="13" font-weight="bold">${escapeHtml(title)}</text>
<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#888"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#888"/>
<text x="4" y="${pad.top + 4}" font-size="10">${escapeHtml(Number(max.toFixed(2)))}</text><text x="4" y="${height - pad.bottom}" font-size="10">0</text>
<text x="${pad.left}" y="${height - 8}" font-size="10">0 s</text><text x="${width - pad.right - 40}" y="${height - 8}" font-size="10">${escapeHtml(Math.round((length - 1) * bucketSeconds))} s (sim)</text>
<text x="${pad.left + 4}" y="${pad.top + 10}" font-size="10" fill="#555">${escapeHtml(yLabel)}</text>
${lines.join("\n")}
</svg>`;
}

/** Horizontal bars: purge convergence (ms) per location, the bound as a dashed line. */
export function barChart({ title, values, boundMs, id }) {
  const names = Object.keys(values);
  const width = 640;
  const rowHeight = 20;
  const height = 40 + rowHeight * names.length + 20;
  const left = 60;
  const right = 80;
  const max = Math.max(1, boundMs ?? 0, ...names.map((name) => values[name] ?? 0));
  const scaleX = (value) => left + (value / max) * (width - left - right);
  const bars = names.map((name, index) => {
    const value = values[name];
    const top = 30 + index * rowHeight;
    const label = value === null ? "not converged" : `${Math.round(value)} ms`;
    return `<text x="4" y="${top + 13}" font-size="11">${escapeHtml(name)}</text><rect class="bar" data-location="${escapeHtml(name)}" x="${left}" y="${top + 2}" width="${(scaleX(value ?? max) - left).toFixed(1)}" height="${rowHeight - 6}" fill="${value === null ? "#d62728" : "#1f77b4"}"/><text x="${(scaleX(value ?? max) + 4).toFixed(1)}" y="${top + 13}" font-size="10">${escapeHtml(label)}</text>`;
  });
  const bound = boundMs === undefined ? "" : `<line x1="${scaleX(boundMs).toFixed(1)}" y1="24" x2="${scaleX(boundMs).toFixed(1)}" y2="${height - 16}" stroke="#444" stroke-dasharray="4 3"/><text x="${(scaleX(boundMs) - 30).toFixed(1)}" y="${height - 4}" font-size="10">bound ${escapeHtml(Math.round(boundMs))} ms</text>`;
  return `<svg id="${id}" role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<text x="4" y="14" font-size="13" font-weight="bold">${escapeHtml(title)}</text>
${bars.join("\n")}
${bound}
</svg>`;
}

function table(rows, columns) {
  const head = columns.map((column) => `<th>${escapeHtml(column)}</th>`).join("");
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The whole report page from a result (sim/results/latest.json's shape). */
export function renderHtml(result) {
  const locationRows = Object.entries({ ...result.locations, total: result.total }).map(([colo, stats]) => [
    colo,
    stats.requests,
    `${(stats.hitRatio * 100).toFixed(1)}%`,
    `${(stats.hitRatioByTier.memory * 100).toFixed(1)} / ${(stats.hitRatioByTier.colo * 100).toFixed(1)} / ${(stats.hitRatioByTier.kv * 100).toFixed(1)}`,
    result.originRequests.byLocation[colo] ?? result.originRequests.total,
    stats.staleServed.staleWhileRevalidate,
    stats.staleServed.staleIfError,
    stats.failovers,
    stats.errors,
    `${stats.latencyMs.p50} / ${stats.latencyMs.p95}`,
  ]);
  const kvRows = Object.entries({ ...result.kv.perLocation, total: result.kv.total }).map(([colo, ops]) => [colo, ops.get, ops.cachedReads, ops.negativeReads, ops.put, ops.delete, ops.list, ops.rateLimited, ops.errors]);
  const originRows = Object.entries(result.originRequests.byOrigin).map(([origin, count]) => [origin, result.originRequests.poolOf[origin], count]);
  const purgeSections = result.purges.map((purge, index) =>
    barChart({ title: `Purge convergence: ${purge.label} (after the ack, real ms)`, values: purge.convergenceMs, boundMs: purge.boundMs, id: `purge-${index}` }),
  );
  const cost = result.cost;
  const costRows = Object.entries(cost.lines).map(([name, item]) => [name, item.volume.toLocaleString("en"), `$${item.usd.toFixed(2)}`]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outpost simulator: ${escapeHtml(result.scenario)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1000px}table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}svg{display:block;margin:12px 0;background:#fafafa}</style>
</head><body>
<h1>Outpost across ${escapeHtml(Object.keys(result.locations).length)} simulated locations</h1>
<p id="summary">Scenario <b>${escapeHtml(result.scenario)}</b>, cache tiers ${escapeHtml(result.cacheTiers.join(", "))}, scale <b>${escapeHtml(result.scale)}</b> (1 real second = ${escapeHtml(result.scale)} simulated seconds; KV delays and TTLs divided by it), ${escapeHtml(result.durationSeconds.simulated)} s simulated in ${escapeHtml(result.durationSeconds.real)} s, KV propagation ${escapeHtml(result.kvPropagationSeconds)} s (production time). Started ${escapeHtml(result.startedAt)}.</p>
<h2>Per location</h2>
${table(locationRows, ["location", "requests", "hit ratio", "memory / colo / kv (% of cacheable)", "origin requests", "stale (SWR)", "stale-if-error", "failovers", "errors", "p50 / p95 ms"])}
${lineChart({ title: "Hit ratio over time", series: result.timeline.hitRatio, bucketSeconds: result.timeline.bucketSimSeconds, yMax: 1, yLabel: "hit ratio", id: "chart-hit-ratio" })}
${lineChart({ title: "Origin requests over time", series: result.timeline.originRequests, bucketSeconds: result.timeline.bucketSimSeconds, yLabel: "origin requests per bucket", id: "chart-origin" })}
${result.shield ? `<h2>Origin shield</h2>
<p>${escapeHtml(result.shield.note)}</p>
${table(shieldRows(result.shield), SHIELD_COLUMNS)}` : ""}
<h2>Origins</h2>
${table(originRows, ["origin", "pool", "requests"])}
<h2>Purges</h2>
${purgeSections.join("\n") || "<p>No purge in this scenario.</p>"}
${(result.outages ?? []).map((outage) => `<h2>While ${escapeHtml(outage.origin)} was down (${escapeHtml(outage.fromSimSeconds)}-${escapeHtml(outage.toSimSeconds)} s sim)</h2>
${table(Object.entries(outage.perLocation).map(([colo, seen]) => [colo, seen.requests, seen.staleWhileRevalidate, seen.staleIfError, seen.failovers, seen.errors, seen.p95Ms]), ["location", "requests", "stale (SWR)", "stale-if-error", "failovers", "errors", "p95 ms"])}
${outage.health ? `<p>Who kept trying ${escapeHtml(outage.origin)} first (${result.sharedHealth ? "shared health on" : "shared health off: each location's own circuit"}; real ms after the outage began).</p>
${table(healthRows(outage.health), HEALTH_COLUMNS)}` : ""}`).join("\n")}
<h2>Events</h2>
${table(result.events.map((event) => [event.atSimSeconds, event.kind, event.detail ?? ""]), ["at (sim s)", "event", "detail"])}
<h2>KV operations</h2>
${table(kvRows, ["location", "reads", "from the location's cache", "null reads", "writes", "deletes", "lists", "429s", "errors"])}
<h2>Projected monthly cost</h2>
<p>${escapeHtml(cost.monthlyRequests.toLocaleString("en"))} requests a month at this run's KV operations per request; Workers Paid base $${escapeHtml(cost.basePlanUsd)}; prices from ${cost.prices.source.map((url) => `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`).join(" and ")}.</p>
${table(costRows, ["item", "monthly volume", "cost beyond included"])}
<p id="total-cost">Total: $${escapeHtml(cost.totalUsd.toFixed(2))} a month.</p>
${result.problems.length ? `<h2>Problems</h2><ul id="problems">${result.problems.map((problem) => `<li>${escapeHtml(problem)}</li>`).join("")}</ul>` : ""}
</body></html>
`;
}

/** Every location's convergence of every purge: median, p99 and worst (real ms after the ack). */
export function describeConvergence(purges) {
  const values = purges.flatMap((purge) => Object.values(purge.convergenceMs)).filter((value) => value !== null).sort((a, b) => a - b);
  const missed = purges.reduce((sum, purge) => sum + Object.values(purge.convergenceMs).filter((value) => value === null).length, 0);
  const at = (p) => (values.length ? values[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)] : null);
  return { samples: values.length, missed, p50Ms: at(50), p99Ms: at(99), maxMs: values.at(-1) ?? null };
}

/** The coordinator worker's counts as calls per second: polls per location, and records and receipts. */
export function describeCoordinatorCalls(counts, colos, realSeconds) {
  const perColo = Object.fromEntries(colos.map((colo) => [colo, Number(((counts.pollsByColo[colo] ?? 0) / realSeconds).toFixed(2))]));
  const rates = Object.values(perColo);
  return {
    ...counts,
    realSeconds: Number(realSeconds.toFixed(1)),
    pollsPerLocationPerSecond: perColo,
    meanPollsPerLocationPerSecond: Number((rates.reduce((sum, rate) => sum + rate, 0) / Math.max(1, rates.length)).toFixed(2)),
    callsPerSecond: Number(((counts.poll + counts.record + counts.receipt) / realSeconds).toFixed(2)),
  };
}

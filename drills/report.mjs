// Figures and tables shared by every drill. A drill returns
//   { name, summary, figures: [[label, value]], checks: [{ check, pass, detail }] }
// and passes when every check does. Tables are Markdown, so a run can be pasted into the README.

/** Nearest-rank percentile (p in 0..100) of a list of numbers; 0 for an empty list. */
export function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Cache-Status says the response came from a stale entry (stale-if-error or stale-while-revalidate). */
function isServedStale(sample) {
  return /stale-if-error|stale-while-revalidate/.test(sample.cacheStatus ?? "");
}

/** Requests, failures (by the drill's own definition), stale answers and latency percentiles. */
export function summarize(samples, isFailure) {
  const latencies = samples.map((s) => s.latencyMs);
  return {
    requests: samples.length,
    failures: samples.filter(isFailure).length,
    stale: samples.filter(isServedStale).length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length ? Math.max(...latencies) : 0,
  };
}

export const ms = (value) => (value === undefined || value === null ? "-" : `${Math.round(value)} ms`);
export const seconds = (valueMs) => (valueMs === undefined || valueMs === null ? "-" : `${(valueMs / 1000).toFixed(1)} s`);

export function check(name, pass, detail = "") {
  return { check: name, pass: Boolean(pass), detail };
}

/** Up to `limit` distinct examples of failed samples, for the checks' detail column. */
export function examples(samples, limit = 3) {
  const seen = new Set();
  for (const s of samples) {
    seen.add(`${s.path} -> ${s.status || s.error}${s.cacheStatus ? ` (${s.cacheStatus})` : ""}`);
    if (seen.size >= limit) break;
  }
  return [...seen].join("; ");
}

/** Long details (a stack in a failed check) are cut; the whole log is in .wrangler/drill-logs/. */
const MAX_CELL_CHARS = 240;

function table(header, rows) {
  const escape = (cell) => {
    const text = String(cell).replaceAll("|", "\\|").replace(/\s*\n\s*/g, " ");
    return text.length > MAX_CELL_CHARS ? `${text.slice(0, MAX_CELL_CHARS - 3)}...` : text;
  };
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((row) => `| ${row.map(escape).join(" | ")} |`)].join("\n");
}

export function passed(result) {
  return result.checks.every((c) => c.pass);
}

export function printDrill(result) {
  const { summary: s } = result;
  const figures = [
    ["requests", s.requests],
    ["failures", s.failures],
    ["served stale", s.stale],
    ["latency p50 / p99 / max", `${ms(s.p50Ms)} / ${ms(s.p99Ms)} / ${ms(s.maxMs)}`],
    ...result.figures,
  ];
  console.log(`\n### ${result.name}: ${passed(result) ? "PASS" : "FAIL"}\n`);
  console.log(table(["figure", "value"], figures));
  console.log("");
  console.log(table(["check", "result", "detail"], result.checks.map((c) => [c.check, c.pass ? "pass" : "FAIL", c.detail])));
}

export function printSummary(results, { variant, elapsedMs }) {
  console.log(`\n### Summary (${variant} run, ${seconds(elapsedMs)})\n`);
  console.log(
    table(
      ["drill", "requests", "failures", "served stale", "p50", "p99", "max", "key figure", "result"],
      results.map((r) => [r.name, r.summary.requests, r.summary.failures, r.summary.stale, ms(r.summary.p50Ms), ms(r.summary.p99Ms), ms(r.summary.maxMs), r.keyFigure ?? "", passed(r) ? "pass" : "FAIL"]),
    ),
  );
}

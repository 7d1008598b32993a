// The dashboard: one self-contained page (no external assets, ~7 KB). It holds no data itself; its
// script calls /status, /explain and /purge with the token the operator typed once (kept in
// sessionStorage, so it is gone when the tab closes). Everything shown is set with textContent:
// values from the config or the origin cannot inject markup.
export const DASHBOARD_SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Outpost</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#1d232b;color:#fff;padding:10px 20px;display:flex;gap:12px;align-items:center}
header h1{font-size:18px;margin:0 auto 0 0}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px;padding:16px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px}
h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eee}
.up{color:#137333;font-weight:600}.down{color:#b3261e;font-weight:600}.unknown{color:#7a5d00}
label{display:block;margin:6px 0 2px}input,select,textarea{font:inherit;width:100%;box-sizing:border-box}
button{font:inherit;margin-top:8px;padding:4px 14px}
pre{background:#f0f2f5;padding:8px;overflow:auto;max-height:420px;white-space:pre-wrap}
.metric{display:inline-block;margin:0 18px 8px 0}.metric b{display:block;font-size:20px}
#message{color:#b3261e}
</style></head>
<body>
<header><h1>Outpost</h1><input id="token" type="password" placeholder="admin token" style="width:260px"><button id="save-token">Use token</button></header>
<p id="message" role="status"></p>
<main>
<section><h2>Origins</h2><p id="snapshot"></p><table id="health"><thead><tr><th>pool</th><th>origin</th><th>health check</th><th>circuit</th><th>traffic</th></tr></thead><tbody></tbody></table></section>
<section><h2>Cache since this isolate started</h2><div id="ratios"></div><table id="outcomes"><tbody></tbody></table></section>
<section><h2>Purge</h2><form id="purge-form">
<label for="purge-kind">Purge by</label><select id="purge-kind"><option value="files">URL</option><option value="tags">tag</option><option value="prefixes">prefix (host/path)</option><option value="hosts">host</option><option value="purge_everything">everything</option></select>
<label for="purge-values">One per line</label><textarea id="purge-values" rows="3"></textarea>
<label><input id="purge-soft" type="checkbox" style="width:auto"> soft (mark stale instead of deleting)</label>
<button type="submit">Purge</button></form><p id="purge-receipt"></p><pre id="purge-result"></pre></section>
<section><h2>Explain</h2><form id="explain-form">
<label for="explain-url">URL</label><input id="explain-url" placeholder="https://www.example.com/page">
<label for="explain-country">Visitor country</label><input id="explain-country" placeholder="DE" maxlength="2">
<label for="explain-colo">Location (colo)</label><input id="explain-colo" placeholder="FRA" maxlength="3">
<button type="submit">Explain</button></form><p id="explain-summary"></p><pre id="explain-result"></pre></section>
</main>
<script>
"use strict";
const base = location.pathname.replace(/\\/$/, "");
const $ = (id) => document.getElementById(id);
const tokenKey = "outpost-admin-token";
$("token").value = sessionStorage.getItem(tokenKey) || "";
$("save-token").onclick = () => { sessionStorage.setItem(tokenKey, $("token").value.trim()); refresh(); };

async function call(path, init = {}) {
  const token = sessionStorage.getItem(tokenKey);
  if (!token) throw new Error("Type the admin token (OUTPOST_ADMIN_TOKEN) first");
  const response = await fetch(base + path, { ...init, headers: { ...(init.headers || {}), authorization: "Bearer " + token } });
  const body = await response.json();
  if (!response.ok) throw new Error(response.status + " " + ((body.error && body.error.message) || "error") + (body.error && body.error.problems ? ": " + body.error.problems.join("; ") : ""));
  return body;
}

function cell(row, text, className) { const td = row.insertCell(); td.textContent = text; if (className) td.className = className; return td; }

function showStatus(status) {
  const snapshot = status.health.snapshot;
  $("snapshot").textContent = snapshot ? "Health snapshot written " + snapshot.age_seconds + " s ago" : "No health snapshot yet (the cron writes one every minute); origins count as healthy.";
  const rows = $("health").tBodies[0]; rows.replaceChildren();
  for (const pool of status.health.pools) for (const origin of pool.origins) {
    const row = rows.insertRow(); row.dataset.origin = pool.name + "/" + origin.origin;
    cell(row, pool.name); cell(row, origin.origin);
    const check = origin.health_check;
    const verdict = check ? check.verdict : "unknown";
    cell(row, !check ? "not checked" : verdict === "unknown" ? "unknown (last check too old)" : verdict === "healthy" ? "healthy" : "unhealthy: " + (check.failure || check.status), verdict === "healthy" ? "up" : verdict);
    cell(row, origin.circuit.state, origin.circuit.state === "closed" ? "up" : "down");
    cell(row, origin.enabled ? (origin.available ? "receives traffic" : "last resort") : "disabled", origin.available ? "up" : "down");
  }
  const cache = status.cache;
  $("ratios").replaceChildren(...[["requests", cache.requests], ["hit ratio", cache.hit_ratio === null ? "-" : (cache.hit_ratio * 100).toFixed(1) + " %"], ["5xx", cache.errors_5xx]].map(([name, value]) => {
    const div = document.createElement("div"); div.className = "metric"; div.dataset.metric = name;
    const b = document.createElement("b"); b.textContent = String(value); div.append(b, name); return div;
  }));
  const outcomes = $("outcomes").tBodies[0]; outcomes.replaceChildren();
  for (const [name, count] of Object.entries(cache.outcomes)) { const row = outcomes.insertRow(); cell(row, name); cell(row, String(count)); }
}

async function refresh() {
  try { showStatus(await call("/status")); $("message").textContent = ""; }
  catch (error) { $("message").textContent = error.message; }
}

$("purge-form").onsubmit = async (event) => {
  event.preventDefault();
  const kind = $("purge-kind").value;
  const values = $("purge-values").value.split("\\n").map((line) => line.trim()).filter(Boolean);
  const body = kind === "purge_everything" ? { purge_everything: true } : { [kind]: values };
  if ($("purge-soft").checked) body.soft = true;
  $("purge-receipt").textContent = "";
  try { const result = await call("/purge", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }); $("purge-result").textContent = JSON.stringify(result, null, 2); if (result.result.receipt) followReceipt(result.result.id); }
  catch (error) { $("purge-result").textContent = error.message; }
};

// With the purge coordinator, the receipt fills up location by location (each reports on its next
// poll, within about a second): read it every 250 ms for 10 s, then every second up to a minute.
async function followReceipt(id) {
  for (let round = 0; round < 90; round += 1) {
    try {
      const receipt = (await call("/purge/" + id)).result;
      const observed = receipt.observed.map((l) => l.colo + " (" + (l.after_ms / 1000).toFixed(1) + " s)").join(", ") || "none yet";
      const pending = receipt.pending.map((l) => l.colo).join(", ") || "none";
      $("purge-receipt").textContent = "Receipt (epoch " + receipt.epoch + "): applied by " + observed + "; waiting for " + pending + (receipt.complete ? ". Every active location has it." : "");
      if (receipt.complete) return;
    } catch (error) { $("purge-receipt").textContent = error.message; return; }
    await new Promise((resolve) => setTimeout(resolve, round < 40 ? 250 : 1000));
  }
}

$("explain-form").onsubmit = async (event) => {
  event.preventDefault();
  const query = new URLSearchParams({ url: $("explain-url").value.trim() });
  if ($("explain-country").value.trim()) query.set("country", $("explain-country").value.trim());
  if ($("explain-colo").value.trim()) query.set("colo", $("explain-colo").value.trim());
  try {
    const result = await call("/explain?" + query);
    const first = result.steering && result.steering.candidates[0];
    $("explain-summary").textContent = result.route ? "Route " + result.route.name + "; " + result.steering.reason + " -> " + (first ? first.pool + "/" + first.origin : "no origin") + "; " + (result.cache.cache_status || "") : result.outcome;
    $("explain-result").textContent = JSON.stringify(result, null, 2);
  } catch (error) { $("explain-summary").textContent = error.message; $("explain-result").textContent = ""; }
};

refresh();
setInterval(refresh, 5000);
</script>
</body></html>
`;

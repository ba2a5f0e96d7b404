/**
 * The live page served at `/`: polls `/v1/stats` and shows this instance's connections and
 * throughput (with charts of the last minutes from `history`), what reaches it from every
 * instance through the broker, and the message tail of the namespace the user picks, with a
 * form that publishes there and shows a refusal with its code. Self-contained: no script, style
 * or font is loaded from anywhere (the page's CSP forbids it). When the relay asks for its admin
 * token (401), the page asks the user and keeps it in this tab's sessionStorage, sent only as a
 * bearer header to this origin.
 */
export const LIVE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PubsubBud relay</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
*{box-sizing:border-box}[hidden]{display:none!important}
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#0f172a;color:#e2e8f0}
header{padding:12px 20px;background:#1e293b;display:flex;flex-wrap:wrap;gap:8px 20px;align-items:center}
h1{font-size:18px;margin:0}h2{font-size:14px;margin:0 0 10px;color:#e2e8f0}h3{font-size:13px;margin:14px 0 6px;color:#94a3b8;font-weight:600}
small,.note{color:#94a3b8;font-weight:400;font-size:12px}
main{padding:16px 20px;display:grid;gap:16px;grid-template-columns:minmax(0,1fr) minmax(0,1.4fr);align-items:start}
.col{display:grid;gap:16px;min-width:0}
section{background:#1e293b;border-radius:8px;padding:14px 16px;min-width:0}
.stats{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:8px 16px}
.num{font-size:26px;font-weight:600;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-top:12px}
figure{margin:0}figcaption{display:flex;flex-wrap:wrap;justify-content:space-between;gap:0 8px;font-size:12px;color:#94a3b8}
figcaption b{color:#e2e8f0;font-weight:500;white-space:nowrap;font-variant-numeric:tabular-nums}
svg.chart{display:block;width:100%;height:48px;background:#0f172a;border-radius:4px}
.axis{display:flex;justify-content:space-between;font-size:11px;color:#64748b}
table{width:100%;border-collapse:collapse}
td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #334155;font-size:12px}
th{color:#94a3b8;font-weight:500}td{font-family:ui-monospace,monospace}
.ok{color:#4ade80}.bad{color:#f87171}code{color:#fbbf24;font-family:ui-monospace,monospace;overflow-wrap:anywhere}
label{display:grid;gap:2px;font-size:12px;color:#94a3b8}
form{display:flex;flex-wrap:wrap;gap:8px;align-items:end}
input{font:13px ui-monospace,monospace;background:#0f172a;color:#e2e8f0;border:1px solid #334155;border-radius:6px;padding:6px 8px;min-width:0;width:100%}
input:focus,button:focus-visible{outline:2px solid #38bdf8;outline-offset:1px}
button{font:600 13px system-ui,sans-serif;background:#0ea5e9;color:#0f172a;border:0;border-radius:6px;padding:7px 14px;cursor:pointer}
button:hover{background:#38bdf8}
button.link{background:none;color:#7dd3fc;padding:0;font:12px ui-monospace,monospace;text-decoration:underline}
.ns{display:flex;align-items:center;gap:6px;color:#94a3b8;font-size:13px}.ns input{width:11em}
#result{margin:8px 0 0;overflow-wrap:anywhere}#result:empty,#status:empty{display:none}.notice{margin:12px 20px 0}#login{background:#1e293b;padding:12px 16px;border-radius:8px}
#result.refused{color:#fecaca;background:#450a0a;border-left:3px solid #f87171;padding:6px 8px;border-radius:4px}
ol{list-style:none;margin:0;padding:0}
li.msg{display:grid;grid-template-columns:auto auto minmax(0,1fr) auto;gap:2px 12px;padding:6px 0;border-bottom:1px solid #334155;font-size:12px;align-items:baseline}
li.msg time{color:#94a3b8;font-variant-numeric:tabular-nums}.ch{color:#7dd3fc;font-family:ui-monospace,monospace;overflow-wrap:anywhere}
.data{font-family:ui-monospace,monospace;overflow-wrap:anywhere;color:#e2e8f0}.off{color:#64748b;font-size:11px;text-align:right}#more{margin:8px 0 0}
.empty{border:1px dashed #475569;border-radius:8px;padding:14px;color:#cbd5e1}.empty p{margin:0 0 8px}
@media (max-width:760px){main{grid-template-columns:minmax(0,1fr);padding:12px}header{padding:12px}.notice{margin:12px 12px 0}
.stats{grid-template-columns:repeat(2,minmax(0,1fr))}li.msg{grid-template-columns:auto minmax(0,1fr) auto}.data{grid-column:1/-1;grid-row:2}}
</style></head><body>
<header><h1>PubsubBud relay</h1><span id="broker" class="note"></span>
<label class="ns" for="ns">namespace <input id="ns" list="ns-list" value="default" autocomplete="off" spellcheck="false"></label>
<datalist id="ns-list"></datalist></header>
<form id="login" class="notice" hidden><label style="flex:1 1 16em">admin token<input id="token" type="password" placeholder="admin token (PUBSUBBUD_ADMIN_TOKEN)" aria-label="admin token" autocomplete="off"></label><button>Show</button></form>
<p id="status" class="bad notice"></p>
<main>
<div class="col">
<section id="instance"><h2>This instance <small>counted by this relay process only</small></h2>
<div class="stats">
<div><div class="num" id="connections">–</div>connections</div>
<div><div class="num" id="subscriptions">–</div>subscriptions</div>
<div><div class="num" id="published">–</div>published here</div>
<div><div class="num" id="deliveries">–</div>deliveries sent</div></div>
<div class="charts">
<figure><figcaption>connections <b id="connections-now"></b></figcaption><svg class="chart" id="chart-connections" viewBox="0 0 120 40" preserveAspectRatio="none" role="img" aria-label="connections over the last minutes"></svg><div class="axis"><span class="since"></span><span>now</span></div></figure>
<figure><figcaption>published here /s <b id="published-now"></b></figcaption><svg class="chart" id="chart-published" viewBox="0 0 120 40" preserveAspectRatio="none" role="img" aria-label="messages published on this instance per second"></svg><div class="axis"><span class="since"></span><span>now</span></div></figure>
</div>
<h3>Namespaces with clients here</h3>
<table><thead><tr><th>namespace</th><th>connections</th><th>subscriptions</th></tr></thead><tbody id="namespaces"></tbody></table>
</section>
<section id="cluster"><h2>Cluster-wide <small id="cluster-note"></small></h2>
<div class="charts">
<figure><figcaption>messages /s, all instances <b id="fanned-now"></b></figcaption><svg class="chart" id="chart-fanned" viewBox="0 0 120 40" preserveAspectRatio="none" role="img" aria-label="messages per second reaching this instance from every instance"></svg><div class="axis"><span class="since"></span><span>now</span></div></figure>
<div><div class="num" id="fanned">–</div>messages seen in namespaces with clients here</div>
</div></section>
<section id="publish-box"><h2>Publish to <code id="publish-ns">default</code></h2>
<form id="publish"><label style="flex:1 1 8em">channel<input id="channel" value="chat.lobby"></label>
<label style="flex:2 1 12em">data (JSON, or plain text)<input id="data" value='{"text":"hello"}'></label><button>Publish</button></form>
<p id="result" role="status"></p>

</section>
</div>
<section id="tail-box"><h2>Messages in <code id="tail-ns">default</code> <small>newest first; seen by this instance, from every instance</small></h2>
<ol id="tail"></ol>
<p id="more" class="note" hidden></p>
<div id="empty" class="empty" hidden></div>
</section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const auth = () => (sessionStorage.admin ? { authorization: "Bearer " + sessionStorage.admin } : {});
const socketBase = location.origin.replace(/^http/, "ws");
// The namespace shown and published to: from the URL (#ns=...), else the busiest one here.
let picked = new URLSearchParams(location.hash.slice(1)).get("ns");
let last;
const current = () => picked || "default";
function pick(ns) {
  picked = ns;
  $("ns").value = ns;
  history.replaceState(null, "", "#ns=" + encodeURIComponent(ns));
  if (last) render(last);
}
function chart(svg, values) {
  const max = Math.max(1, ...values);
  const step = 120 / Math.max(1, values.length - 1);
  const points = values.map((v, i) => (i * step).toFixed(1) + "," + (38 - (v / max) * 34).toFixed(1)).join(" ");
  svg.dataset.points = String(values.length);
  svg.dataset.max = String(max);
  svg.innerHTML = values.length < 2 ? "" : '<polygon fill="#0ea5e933" points="0,40 ' + points + " 120,40" + '"/><polyline fill="none" stroke="#38bdf8" stroke-width="1.5" vector-effect="non-scaling-stroke" points="' + points + '"/>';
}
function rates(points, key) {
  const out = [];
  for (let i = 1; i < points.length; i++) out.push(Math.max(0, points[i][key] - points[i - 1][key]) / Math.max(0.001, (points[i].t - points[i - 1].t) / 1000));
  return out;
}
const caption = (id, values) => { $(id).textContent = values.length ? "now " + rounded(values[values.length - 1]) + " · peak " + rounded(Math.max(...values)) : ""; };
const rounded = (n) => (n >= 10 ? Math.round(n) : Math.round(n * 10) / 10);
function renderHistory(h) {
  const points = (h && h.points) || [];
  chart($("chart-connections"), points.map((p) => p.connections));
  const published = rates(points, "published");
  const fanned = rates(points, "fannedOut");
  chart($("chart-published"), published);
  chart($("chart-fanned"), fanned);
  caption("connections-now", points.map((p) => p.connections));
  caption("published-now", published);
  caption("fanned-now", fanned);
  const span = points.length > 1 ? Math.round((points[points.length - 1].t - points[0].t) / 1000) : 0;
  for (const since of document.querySelectorAll(".since")) since.textContent = span >= 60 ? Math.round(span / 60) + " min ago" : span + " s ago";
}
const SHOWN = 20;
const shown = (data) => { const text = typeof data === "string" ? data : JSON.stringify(data); return text.length > 200 ? text.slice(0, 199) + "…" : text; };
function renderTail(s) {
  const ns = current();
  const mine = s.tail.filter((m) => m.namespace === ns).reverse();
  $("more").hidden = mine.length <= SHOWN;
  $("more").textContent = "and " + (mine.length - SHOWN) + " older";
  $("tail").innerHTML = mine.slice(0, SHOWN).map((m) => '<li class="msg"><time>' + new Date(m.ts).toLocaleTimeString() + '</time><span class="ch">' + esc(m.channel) + '</span><span class="data">' + esc(shown(m.data)) + '</span><span class="off">offset ' + esc(m.offset) + "</span></li>").join("");
  const others = [...new Set(s.tail.filter((m) => m.namespace !== ns).map((m) => m.namespace))];
  $("empty").hidden = mine.length > 0;
  if (mine.length) return;
  const curl = "curl -X POST " + location.origin + "/v1/ns/" + encodeURIComponent(ns) + "/publish -H 'content-type: application/json' -d '{\\"channel\\":\\"chat.lobby\\",\\"data\\":\\"hi\\"}'";
  $("empty").innerHTML = "<p><b>No messages in " + esc(ns) + " yet.</b></p><p>Clients connect to <code>" + esc(socketBase + "/ns/" + ns) + "</code>. Publish with the form, or from a shell:</p><p><code>" + esc(curl) + "</code></p>" +
    (others.length ? '<p>Messages arrived in: ' + others.map((o) => '<button class="link" data-ns="' + esc(o) + '">' + esc(o) + "</button>").join(", ") + "</p>" : "");
}
function render(s) {
  $("publish-ns").textContent = current();
  $("tail-ns").textContent = current();
  const single = s.broker.name === "memory";
  $("broker").innerHTML = "broker <code>" + esc(s.broker.name) + "</code> <span class=" + (s.broker.healthy ? "ok>healthy" : "bad>unhealthy") + "</span>";
  $("cluster-note").textContent = single ? "the memory broker serves one process: this instance is the whole cluster" : "every instance on this " + s.broker.name + " broker, in the namespaces with clients here";
  $("connections").textContent = s.connections;
  $("subscriptions").textContent = s.namespaces.reduce((n, ns) => n + ns.subscriptions, 0);
  $("published").textContent = s.counters.published;
  $("deliveries").textContent = s.counters.deliveries;
  $("fanned").textContent = s.counters.fannedOut;
  $("namespaces").innerHTML = s.namespaces.length ? s.namespaces.map((ns) => '<tr><td><button class="link" data-ns="' + esc(ns.name) + '">' + esc(ns.name) + "</button></td><td>" + ns.connections + "</td><td>" + ns.subscriptions + "</td></tr>").join("") : '<tr><td colspan="3" class="note">no clients connected</td></tr>';
  const names = new Set(["default", ...s.namespaces.map((ns) => ns.name), ...s.tail.map((m) => m.namespace)]);
  $("ns-list").innerHTML = [...names].map((n) => '<option value="' + esc(n) + '">').join("");
  renderHistory(s.history);
  renderTail(s);
}
async function refresh() {
  try {
    const response = await fetch("/v1/stats", { headers: auth() });
    $("login").hidden = response.status !== 401;
    if (!response.ok) { $("status").textContent = (await response.json()).message; return; }
    $("status").textContent = "";
    const s = await response.json();
    if (!picked && s.namespaces.length) picked = [...s.namespaces].sort((a, b) => b.connections - a.connections)[0].name;
    if (document.activeElement !== $("ns")) $("ns").value = current();
    last = s;
    render(s);
  } catch (error) { $("status").textContent = "cannot reach the relay: " + error.message; }
}
$("ns").addEventListener("input", () => { const ns = $("ns").value.trim(); if (ns) pick(ns); });
document.addEventListener("click", (event) => {
  const ns = event.target.closest && event.target.closest("[data-ns]");
  if (ns) pick(ns.dataset.ns);
});
$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.admin = $("token").value;
  $("token").value = "";
  refresh();
});
$("publish").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ns = current();
  let data; try { data = JSON.parse($("data").value); } catch { data = $("data").value; }
  const result = $("result");
  try {
    const response = await fetch("/v1/ns/" + encodeURIComponent(ns) + "/publish", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ channel: $("channel").value, data }) });
    const body = await response.json().catch(() => ({}));
    result.className = response.ok ? "ok" : "refused";
    result.innerHTML = response.ok
      ? "published to <code>" + esc(ns) + "</code> at offset <code>" + esc(body.offset) + "</code>" + (body.duplicate ? " (a duplicate id: not delivered again)" : "")
      : "refused, " + response.status + " <code>" + esc(body.code || "unknown") + "</code>: " + esc(body.message || response.statusText);
  } catch (error) {
    result.className = "refused";
    result.textContent = "not sent: " + error.message;
  }
  refresh();
});
refresh(); setInterval(refresh, 1000);
</script></body></html>`;

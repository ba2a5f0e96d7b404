/**
 * The live page served at `/`: polls `/v1/stats` and shows connections, subscriptions and a tail.
 * The page holds no data itself; when the relay asks for its admin token (401), the page asks the
 * user and keeps it in this tab's sessionStorage, sent only as a bearer header to this origin.
 */
export const LIVE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PubsubBud relay</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#0f172a;color:#e2e8f0}
header{padding:16px 24px;background:#1e293b;display:flex;gap:24px;align-items:baseline}
h1{font-size:18px;margin:0}main{padding:16px 24px;display:grid;gap:16px;grid-template-columns:1fr 2fr}
section{background:#1e293b;border-radius:8px;padding:12px 16px}h2{font-size:14px;margin:0 0 8px;color:#94a3b8}
.num{font-size:28px;font-weight:600}.stats{display:flex;gap:32px}table{width:100%;border-collapse:collapse}
td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #334155;font-family:ui-monospace,monospace;font-size:12px}
.ok{color:#4ade80}.bad{color:#f87171}code{color:#fbbf24}form{display:flex;gap:8px;margin-top:8px}
input{background:#0f172a;color:#e2e8f0;border:1px solid #334155;border-radius:4px;padding:4px 8px}
</style></head><body>
<header><h1>PubsubBud relay</h1><span id="broker"></span><span id="url"></span></header>
<main>
<section><h2>Now</h2><div class="stats">
<div><div class="num" id="connections">–</div>connections</div>
<div><div class="num" id="subscriptions">–</div>subscriptions</div>
<div><div class="num" id="published">–</div>published</div>
<div><div class="num" id="deliveries">–</div>deliveries</div></div>
<h2 style="margin-top:16px">Namespaces</h2>
<table><thead><tr><th>namespace</th><th>connections</th><th>subscriptions</th></tr></thead><tbody id="namespaces"></tbody></table>
<h2 style="margin-top:16px">Publish (namespace default)</h2>
<form id="publish"><input id="channel" value="chat.lobby" size="14" aria-label="channel"><input id="data" value='{"text":"hello"}' size="18" aria-label="data"><button>publish</button></form>
<form id="login" hidden><input id="token" type="password" size="40" placeholder="admin token (PUBSUBBUD_ADMIN_TOKEN)" aria-label="admin token" autocomplete="off"><button>show</button></form>
<p id="status"></p>
</section>
<section><h2>Message tail</h2>
<table><thead><tr><th>time</th><th>namespace</th><th>channel</th><th>offset</th><th>data</th></tr></thead><tbody id="tail"></tbody></table>
</section></main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
$("url").innerHTML = "clients connect to <code>" + esc(location.origin.replace(/^http/, "ws")) + "/ns/&lt;namespace&gt;</code>";
const auth = () => (sessionStorage.admin ? { authorization: "Bearer " + sessionStorage.admin } : {});
async function refresh() {
  try {
    const response = await fetch("/v1/stats", { headers: auth() });
    $("login").hidden = response.status !== 401;
    if (!response.ok) { $("status").textContent = (await response.json()).message; return; }
    $("status").textContent = "";
    const s = await response.json();
    $("broker").innerHTML = "broker <code>" + esc(s.broker.name) + "</code> <span class=" + (s.broker.healthy ? "ok>healthy" : "bad>unhealthy") + "</span>";
    $("connections").textContent = s.connections;
    $("subscriptions").textContent = s.namespaces.reduce((n, ns) => n + ns.subscriptions, 0);
    $("published").textContent = s.counters.published;
    $("deliveries").textContent = s.counters.deliveries;
    $("namespaces").innerHTML = s.namespaces.map((ns) => "<tr><td>" + esc(ns.name) + "</td><td>" + ns.connections + "</td><td>" + ns.subscriptions + "</td></tr>").join("");
    $("tail").innerHTML = s.tail.slice().reverse().map((m) => "<tr><td>" + new Date(m.ts).toLocaleTimeString() + "</td><td>" + esc(m.namespace) + "</td><td>" + esc(m.channel) + "</td><td>" + esc(m.offset) + "</td><td>" + esc(JSON.stringify(m.data)).slice(0, 120) + "</td></tr>").join("");
  } catch {}
}
$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.admin = $("token").value;
  $("token").value = "";
  refresh();
});
$("publish").addEventListener("submit", async (event) => {
  event.preventDefault();
  let data; try { data = JSON.parse($("data").value); } catch { data = $("data").value; }
  const response = await fetch("/v1/ns/default/publish", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ channel: $("channel").value, data }) });
  $("status").textContent = response.ok ? "" : "publish: " + (await response.json()).message;
  refresh();
});
refresh(); setInterval(refresh, 1000);
</script></body></html>`;

// The examples' pages share one look with the relay's live page (dark slate, sky accents) and
// one frame: a viewport that fits a phone, a header with the connection state, a main column.

/** The shared stylesheet: plain CSS, no fonts or files loaded from anywhere. */
export const PAGE_STYLE = `*{box-sizing:border-box}[hidden]{display:none!important}
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#0f172a;color:#e2e8f0}
header{padding:14px 20px;background:#1e293b;display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center}
h1{font-size:20px;margin:0}h2{font-size:15px;margin:0 0 10px}
main{max-width:52rem;margin:0 auto;padding:16px 20px;display:grid;gap:16px}
section{background:#1e293b;border-radius:8px;padding:14px 16px;min-width:0}
p{margin:0 0 8px}.note{color:#94a3b8;font-size:13px}
code{color:#fbbf24;font-family:ui-monospace,monospace;font-size:13px;overflow-wrap:anywhere}
.state{font-size:12px;padding:2px 8px;border-radius:999px;background:#334155;color:#cbd5e1}
.state[data-state=open]{background:#14532d;color:#bbf7d0}
form,.row{display:flex;flex-wrap:wrap;gap:8px;align-items:end}
label{display:grid;gap:2px;font-size:12px;color:#94a3b8}
input,select{font:15px system-ui,sans-serif;background:#0f172a;color:#e2e8f0;border:1px solid #334155;border-radius:6px;padding:7px 9px;min-width:0}
input:focus,select:focus,button:focus-visible{outline:2px solid #38bdf8;outline-offset:1px}
button{font:600 15px system-ui,sans-serif;background:#0ea5e9;color:#0f172a;border:0;border-radius:6px;padding:8px 16px;cursor:pointer}
button:hover{background:#38bdf8}
ol.events{list-style:none;margin:0;padding:0}
ol.events li{display:grid;grid-template-columns:auto 7.5rem minmax(0,1fr);gap:2px 12px;padding:7px 0;border-bottom:1px solid #334155;align-items:baseline}
ol.events time{color:#94a3b8;font-size:12px;font-variant-numeric:tabular-nums}
.tag{font-size:12px;font-weight:600;padding:1px 8px;border-radius:999px;background:#334155;justify-self:start}
.empty{border:1px dashed #475569;border-radius:8px;padding:14px;color:#cbd5e1}
table{width:100%;border-collapse:collapse}
td,th{text-align:left;padding:7px 10px 7px 0;border-bottom:1px solid #334155}
th{color:#94a3b8;font-weight:500;font-size:13px}
@media (max-width:560px){header,main{padding:12px}ol.events li{grid-template-columns:auto minmax(0,1fr)}
ol.events li .text{grid-column:1/-1}}`;

/**
 * A whole example page: `title` in the tab and the header (with a `#state` badge the page's
 * script keeps current), `body` inside `<main>`, and the bundled script.
 */
export function examplePage(title, body) {
  return `<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>PubsubBud ${title}</title>
<style>${PAGE_STYLE}</style>
<header><h1>${title}</h1><span class="state" id="state">connecting</span></header>
<main>${body}</main><script src="/app.js"></script></html>`;
}

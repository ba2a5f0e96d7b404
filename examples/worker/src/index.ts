// The example Worker: serves the chat page and its script, and hands everything else to the
// PubsubBud relay (WebSocket, publish endpoint, health).
import relay, { NamespaceObject } from "@pubsubbud/relay-worker";
import APP_JS from "./app.generated.js";

export { NamespaceObject };

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PubsubBud chat on Workers</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px system-ui,sans-serif;max-width:640px;margin:32px auto;padding:0 16px}
ul{list-style:none;padding:0;min-height:200px;border:1px solid #ddd;border-radius:8px;padding:8px}
li{padding:2px 0}.note{color:#a60}form{display:flex;gap:8px}input{padding:6px}#text{flex:1}</style></head>
<body><h1>PubsubBud chat</h1><p>connection: <b id="state">connecting</b></p><ul id="log"></ul>
<form id="form"><input id="name" placeholder="name" size="8"><input id="text" placeholder="message" autocomplete="off"><button>send</button></form>
<script src="/app.js"></script></body></html>`;

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    const upgrade = request.headers.get("Upgrade");
    if (pathname === "/" && !upgrade)
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    if (pathname === "/app.js")
      return new Response(APP_JS, { headers: { "content-type": "text/javascript" } });
    return relay.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Parameters<typeof relay.fetch>[1]>;

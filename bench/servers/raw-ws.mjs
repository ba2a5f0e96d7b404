// The baseline: a minimal ws relay. Parses each publish once and forwards its bytes unchanged (as
// a text frame) to the sockets in a Map of channel → sockets, plus prefix wildcards ("user.*") so
// the pattern workload has an equivalent.
import { WebSocketServer } from "ws";
import { serve } from "./common.mjs";

const channels = new Map();
const prefixes = new Map();
const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("message", (raw) => {
    const msg = JSON.parse(raw);
    if (msg.t === "s") {
      const wildcard = msg.c.endsWith("*");
      const map = wildcard ? prefixes : channels;
      const key = wildcard ? msg.c.slice(0, -1) : msg.c;
      if (!map.has(key)) map.set(key, new Set());
      map.get(key).add(ws);
      ws.send('{"t":"k"}');
    } else if (msg.t === "p") {
      const targets = new Set(channels.get(msg.c));
      for (const [prefix, set] of prefixes)
        if (msg.c.startsWith(prefix)) for (const s of set) targets.add(s);
      for (const s of targets) s.send(raw, { binary: false });
    }
  });
  ws.on("close", () => {
    for (const set of channels.values()) set.delete(ws);
    for (const set of prefixes.values()) set.delete(ws);
  });
});
wss.on("listening", () => serve(wss.address().port));

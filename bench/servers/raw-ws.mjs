// The baseline: a minimal ws relay. Parses each publish once and forwards its bytes unchanged (as
// a text frame) to the sockets subscribed to its channel or to a prefix wildcard ("user.*").
import { WebSocketServer } from "ws";
import { SocketIndex, serve } from "./common.mjs";

const index = new SocketIndex();
const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("message", (raw) => {
    const msg = JSON.parse(raw);
    if (msg.t === "s") {
      index.add(ws, msg.c);
      ws.send('{"t":"k"}');
    } else if (msg.t === "p") {
      for (const s of index.targets(msg.c)) s.send(raw, { binary: false });
    }
  });
  ws.on("close", () => index.remove(ws));
});
wss.on("listening", () => serve(wss.address().port));

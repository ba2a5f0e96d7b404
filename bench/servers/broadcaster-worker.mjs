// The workerd baseline: a minimal hibernating Durable Object broadcaster. One object, sockets
// accepted with the Hibernation API, each message parsed and serialized once and sent to every
// other socket. No protocol, no log, no acks.
import { DurableObject } from "cloudflare:workers";

export class Room extends DurableObject {
  async fetch() {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  webSocketMessage(ws, message) {
    const { c, d } = JSON.parse(message);
    const text = JSON.stringify({ c, d });
    for (const socket of this.ctx.getWebSockets()) if (socket !== ws) socket.send(text);
  }
}

export default {
  fetch(request, env) {
    return env.ROOM.get(env.ROOM.idFromName("bench")).fetch(request);
  },
};

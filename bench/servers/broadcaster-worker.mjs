// The workerd baseline: a minimal hibernating Durable Object broadcaster. One object, sockets
// accepted with the Hibernation API, each socket's subscriptions (exact channels) in its
// attachment so they survive hibernation, and a published frame's bytes forwarded as they came
// to the sockets subscribed to its channel. No protocol, no log, no acks.
//   subscribe: {"s":"<channel>"}  (echoed back once stored)
//   publish:   {"c":"<channel>","d":<data>}
import { DurableObject } from "cloudflare:workers";

export class Room extends DurableObject {
  /** channel → sockets, rebuilt from the attachments after a wake. */
  #index;

  #channels() {
    if (this.#index) return this.#index;
    this.#index = new Map();
    for (const ws of this.ctx.getWebSockets())
      for (const channel of ws.deserializeAttachment() ?? []) this.#add(channel, ws);
    return this.#index;
  }

  #add(channel, ws) {
    const sockets = this.#index.get(channel) ?? new Set();
    sockets.add(ws);
    this.#index.set(channel, sockets);
  }

  async fetch() {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  webSocketMessage(ws, message) {
    const channels = this.#channels();
    const frame = JSON.parse(message);
    if (frame.s !== undefined) {
      ws.serializeAttachment([...(ws.deserializeAttachment() ?? []), frame.s]);
      this.#add(frame.s, ws);
      ws.send(message);
      return;
    }
    for (const socket of channels.get(frame.c) ?? []) socket.send(message);
  }

  webSocketClose(ws) {
    for (const channel of ws.deserializeAttachment() ?? [])
      this.#channels().get(channel)?.delete(ws);
  }
}

export default {
  fetch(request, env) {
    return env.ROOM.get(env.ROOM.idFromName("bench")).fetch(request);
  },
};

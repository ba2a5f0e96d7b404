// One load-side adapter per system under test: connect, subscribe (one per connection), publish.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createClient } from "@pubsubbud/client";
import mqtt from "mqtt";
import { io } from "socket.io-client";
import WebSocket from "ws";

const opened = (ws) =>
  new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });

/**
 * PubsubBud spoken by a bare ws peer: isolates the relay's cost from @pubsubbud/client's. It
 * speaks as the client does: `hello` goes with the first frame and carries the subscription
 * made before it, so connecting and subscribing is one message, as raw ws's subscribe is.
 */
export const wirePeer = {
  name: "PubsubBud (wire)",
  server: "pubsubbud.mjs",
  async connect(port) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, "pubsubbud.v1", {
      perMessageDeflate: false,
    });
    await opened(ws);
    let onMessage = () => {};
    const acks = [];
    let next = 0;
    const handle = (frame) => {
      if (frame.type === "message") onMessage(frame.data);
      else if (frame.type === "subscribed") acks.shift()();
    };
    ws.on("message", (raw) => {
      const parsed = JSON.parse(raw);
      if (Array.isArray(parsed)) for (const frame of parsed) handle(frame);
      else handle(parsed);
    });
    let greeted = false;
    /** Sends `frame`; the first goes as `hello`, carrying it when it is a subscribe, or before it. */
    const send = (frame) => {
      if (!greeted) {
        greeted = true;
        const { type, id, pattern } = frame;
        const subscriptions = type === "subscribe" ? [{ id, pattern }] : [];
        const client = `bench-${Math.random().toString(36).slice(2, 14)}`;
        ws.send(JSON.stringify({ type: "hello", client, subscriptions }));
        if (type === "subscribe") return;
      }
      ws.send(JSON.stringify(frame));
    };
    return {
      subscribe(pattern, handler) {
        onMessage = handler;
        send({ type: "subscribe", id: `s${++next}`, pattern });
        return new Promise((resolve) => acks.push(resolve));
      },
      publish: (channel, data) =>
        send({ type: "publish", id: `p${++next}-${Math.random()}`, channel, data }),
      close: () => ws.terminate(),
      // Stops reading the socket: a slow consumer (the kernel buffers fill, then the relay's).
      pause: () => ws._socket.pause(),
    };
  },
};

/** Where scripts/bench/mosquitto-ws.sh puts its WebSocket-capable mosquitto. */
const mosquittoWs =
  process.env.BENCH_MOSQUITTO_WS ??
  join(
    process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"),
    "pubsubbud/mosquitto-ws/sbin/mosquitto",
  );

/**
 * Mosquitto through bench/servers/mosquitto.mjs, spoken to by `mqtt` clients: MQTT 3.1.1, QoS 0,
 * clean session, over TCP (`mqtt`, Debian's /usr/sbin/mosquitto) or over WebSocket (`websockets`,
 * subprotocol `mqtt`, the binary of scripts/bench/mosquitto-ws.sh). Channel dots become topic
 * levels and a `*` level becomes `+` (`user.*` → `user/+`). `missing` says why the target cannot
 * run here: the bench skips it with that note. Its adapter has no `pause`.
 */
function mosquitto(name, protocol) {
  const websockets = protocol === "websockets";
  return {
    name,
    server: "mosquitto.mjs",
    serverArgs: websockets ? [protocol, mosquittoWs] : [protocol],
    pausable: false,
    missing:
      websockets && !existsSync(mosquittoWs)
        ? `no WebSocket-capable mosquitto at ${mosquittoWs}: build it with ` +
          "scripts/bench/mosquitto-ws.sh (or point BENCH_MOSQUITTO_WS at one)"
        : undefined,
    async connect(port) {
      const client = mqtt.connect(`${websockets ? "ws" : "mqtt"}://127.0.0.1:${port}`, {
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 0,
        // As the other WebSocket targets: no compression offered.
        wsOptions: { perMessageDeflate: false },
      });
      await new Promise((resolve, reject) => {
        client.once("connect", resolve);
        client.once("error", reject);
      });
      // As ws does on its sockets (mqtt's ws client too): no Nagle delay on small frames.
      if (!websockets) client.stream.setNoDelay(true);
      const topic = (channel) =>
        channel
          .split(".")
          .map((level) => (level === "*" ? "+" : level))
          .join("/");
      let onMessage = () => {};
      client.on("message", (_topic, payload) => onMessage(JSON.parse(payload)));
      return {
        subscribe(channel, handler) {
          onMessage = handler;
          // Resolves on the SUBACK.
          return new Promise((resolve, reject) =>
            client.subscribe(topic(channel), { qos: 0 }, (error) =>
              error ? reject(error) : resolve(),
            ),
          );
        },
        publish: (channel, data) =>
          client.publish(topic(channel), JSON.stringify(data), { qos: 0 }),
        close: () => client.end(true),
      };
    },
  };
}

export const targets = [
  {
    name: "raw ws",
    server: "raw-ws.mjs",
    async connect(port) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
      await opened(ws);
      let onMessage = () => {};
      const acks = [];
      ws.on("message", (raw) => {
        const msg = JSON.parse(raw);
        if (msg.t === "k") acks.shift()();
        else onMessage(msg.d);
      });
      return {
        subscribe(channel, handler) {
          onMessage = handler;
          ws.send(JSON.stringify({ t: "s", c: channel }));
          return new Promise((resolve) => acks.push(resolve));
        },
        publish: (channel, data) => ws.send(JSON.stringify({ t: "p", c: channel, d: data })),
        close: () => ws.terminate(),
        pause: () => ws._socket.pause(),
      };
    },
  },
  {
    name: "Socket.IO",
    server: "socketio.mjs",
    async connect(port) {
      const socket = io(`http://127.0.0.1:${port}`, {
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
      });
      await new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      return {
        subscribe(channel, handler) {
          socket.on("m", (_channel, data) => handler(data));
          return new Promise((resolve) => socket.emit("sub", channel, resolve));
        },
        publish: (channel, data) => socket.emit("pub", channel, data),
        close: () => socket.disconnect(),
        pause: () => socket.io.engine.transport.ws._socket.pause(),
      };
    },
  },
  wirePeer,
  // Opt-in: run only when BENCH_ONLY names it (bench/servers/ws-log.mjs says what it is).
  { ...wirePeer, name: "ws + log (floor)", server: "ws-log.mjs", optIn: true },
  mosquitto("Mosquitto", "mqtt"),
  mosquitto("Mosquitto (WS)", "websockets"),
  {
    name: "PubsubBud (client)",
    server: "pubsubbud.mjs",
    // Its adapter has no `pause`: the slow-consumer workload leaves it out.
    pausable: false,
    // As an app uses it: subscribe right after createClient, so the subscription travels in
    // hello; `ready` resolves once it is confirmed (a publish before then waits in the queue).
    async connect(port) {
      const client = createClient({ url: `ws://127.0.0.1:${port}`, WebSocket });
      return {
        subscribe: (pattern, handler) =>
          client.subscribe(pattern, (msg) => handler(msg.data)).ready,
        publish: (channel, data) => void client.publish(channel, data).catch(() => {}),
        close: () => client.close(),
      };
    },
  },
];

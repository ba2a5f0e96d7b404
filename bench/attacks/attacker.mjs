// One attack of bench workload 8, run in its own process against the relay on argv[2] until it
// is killed: the attacks of issue 15, each as an attacker with an open relay's rights would.
import net from "node:net";
import WebSocket from "ws";

const [port, attack] = [Number(process.argv[2]), process.argv[3]];
const url = `ws://127.0.0.1:${port}/ns/attacked`;
const open = (hello = {}) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, "pubsubbud.v1");
    ws.on("open", () => {
      ws.send(
        JSON.stringify({
          type: "hello",
          client: `attacker-${Math.random().toString(36).slice(2)}`,
          ...hello,
        }),
      );
      resolve(ws);
    });
    ws.on("error", reject);
  });
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let n = 0;

const attacks = {
  async matcher() {
    // 4 connections × 256 patterns `*` + 120×a + `b<n>` (as many as the budgets admit), then
    // publishes on a 255-character channel at the rate limit.
    const conns = await Promise.all([0, 1, 2, 3].map(() => open()));
    for (const [c, ws] of conns.entries())
      for (let i = 0; i < 256; i++)
        ws.send(
          JSON.stringify({
            type: "subscribe",
            id: `p${i}`,
            pattern: `*${"a".repeat(120)}b${c}x${i}`,
          }),
        );
    const channel = "a".repeat(255);
    for (;;) {
      for (const ws of conns)
        ws.send(JSON.stringify({ type: "publish", id: `m${n++}`, channel, data: 1 }));
      await pause(4);
    }
  },
  async flood() {
    // 4 connections publishing as fast as the socket takes it, far past the bucket.
    const conns = await Promise.all([0, 1, 2, 3].map(() => open()));
    for (;;) {
      for (const ws of conns)
        if (ws.bufferedAmount < 1 << 20)
          ws.send(
            JSON.stringify(
              Array.from({ length: 50 }, () => ({
                type: "publish",
                id: `f${n++}`,
                channel: "flood.x",
                data: n,
              })),
            ),
          );
      await pause(1);
    }
  },
  async replay() {
    // Fill the recovery window with 60 KB messages, then keep resuming from the start of the log.
    const writer = await open();
    const payload = "x".repeat(60_000);
    for (let i = 0; i < 500; i++)
      writer.send(
        JSON.stringify({ type: "publish", id: `w${i}`, channel: "big.x", data: payload }),
      );
    const epoch = await new Promise((resolve) =>
      writer.once("message", (t) => resolve(JSON.parse(String(t)).epoch)),
    );
    await pause(500);
    for (;;) {
      const reader = await open({
        resume: { epoch, offset: "" },
        subscriptions: [{ id: "s", pattern: "big.*" }],
      });
      await pause(300);
      reader.terminate();
    }
  },
  async slowloris() {
    // Sockets that start an upgrade and never finish their headers, renewed as they are cut.
    const hold = () => {
      const socket = net.connect(port, "127.0.0.1", () =>
        socket.write(`GET /ns/attacked HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n`),
      );
      socket.on("error", () => {});
      socket.on("close", () => setTimeout(hold, 100));
    };
    for (let i = 0; i < 600; i++) hold();
  },
  async http() {
    // Malformed paths, escapes and bodies on the HTTP surface, as fast as answers come back.
    const bodies = [
      "{",
      "[]",
      '{"channel":"a","data":' + "[".repeat(5000) + "]".repeat(5000) + "}",
      "x".repeat(70_000),
    ];
    const paths = ["/v1/ns/%/publish", "/ns/%E0%A4%A", "/v1/ns/a/publish", "/v1/ns/../publish"];
    for (;;) {
      await Promise.all(
        Array.from({ length: 8 }, () => {
          const i = n++;
          return fetch(`http://127.0.0.1:${port}${paths[i % paths.length]}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: bodies[i % bodies.length],
          }).then(
            (r) => r.arrayBuffer(),
            () => {},
          );
        }),
      );
    }
  },
};
process.send?.({ type: "started" });
await attacks[attack]();

#!/usr/bin/env node
// Two terminals chatting through a PubsubBud relay:
//   npm start                                           (terminal 0: the relay)
//   node examples/chat-cli/chat.mjs --name alice        (terminal 1)
//   node examples/chat-cli/chat.mjs --name bob          (terminal 2)
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createClient } from "@pubsubbud/client";

const { values } = parseArgs({
  options: {
    name: { type: "string", default: process.env.USER ?? "anon" },
    room: { type: "string", default: "lobby" },
    url: { type: "string", default: process.env.PUBSUBBUD_URL ?? "ws://127.0.0.1:8080" },
  },
});
const { name, room, url } = values;
// Node 22+ has a global WebSocket; Node 20 needs the `ws` package.
const WebSocket = globalThis.WebSocket ?? (await import("ws")).default;
const client = createClient({ url, WebSocket });
const channel = `chat.${room}`;

console.log(`* connecting to ${url}…`);
// The client keeps retrying a relay that does not answer (state stays "connecting"), so after a
// moment say why nothing happens yet.
const slow = setTimeout(
  () =>
    console.log(
      `* no relay answers at ${url} yet: start one with \`npm start\` (or pass --url); waiting for it…`,
    ),
  2000,
);
let opened = false;
client.addEventListener("state", (event) => {
  const { state } = event.detail;
  if (state === "reconnecting") console.log("* connection lost, reconnecting…");
  if (state === "open" && opened) console.log("* back online");
  if (state === "open") {
    opened = true;
    clearTimeout(slow);
  }
});
client.addEventListener("gap", () => console.log("* some messages were missed while offline"));

const sub = client.subscribe(channel, (message) => {
  const { from, text } = message.data ?? {};
  if (from !== name) console.log(`${from}: ${text}`);
});
try {
  await sub.ready;
} catch (error) {
  console.error(`cannot join ${channel}: ${error.message}`);
  process.exit(1);
}
console.log(`* joined #${room} as ${name} (type a message, /quit to leave)`);

const input = createInterface({ input: process.stdin });
for await (const line of input) {
  const text = line.trim();
  if (text === "/quit") break;
  if (text) await client.publish(channel, { from: name, text });
}
client.close();
// readline leaves stdin open after /quit; release it so the process can exit.
process.stdin.destroy();

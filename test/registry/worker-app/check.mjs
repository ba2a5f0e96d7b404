// A Node client from the registry: subscribes at the URL given, publishes one message, prints it
// as received ("received <channel> <data>") and exits.
import { createClient } from "@pubsubbud/client";
import WebSocket from "ws";

const client = createClient({ url: process.argv[2], WebSocket });
let receive;
const received = new Promise((resolve) => {
  receive = resolve;
});
await client.subscribe("check.*", receive).ready;
await client.publish("check.worker", { text: "hello from node" });
const message = await received;
process.stdout.write(`received ${message.channel} ${JSON.stringify(message.data)}\n`);
client.close();

// examples/rpc: request/reply through a relay. A Node service answers `math.add` and
// `math.divide` (dividing by zero fails, and the caller gets `remote_error`); a browser page and
// the Node client below call it. Any language can answer: publish to the request's `reply-to`
// with its `correlation-id`.
//   npm start -w @pubsubbud/example-rpc                (then open http://127.0.0.1:8094)
import { fileURLToPath } from "node:url";
import { createClient, request, serve } from "@pubsubbud/client";
import { createRelay } from "@pubsubbud/relay-node";
import WebSocket from "ws";
import { servePage } from "../shared/page-server.mjs";
import { examplePage } from "../shared/page-style.mjs";
import app from "./app.generated.js";

const PAGE = examplePage(
  "Calculator",
  `<section><h2>Ask the Node service</h2>
<div class="row"><label>a<input id="a" type="number" value="6"></label><label>b<input id="b" type="number" value="3"></label>
<button id="add">a + b</button> <button id="divide">a / b</button></div>
<p style="margin-top:12px"><b id="answer"></b></p>
<p class="note">Each button is a request (<code>math.add</code>, <code>math.divide</code>) to a Node
service through the relay; dividing by zero comes back as <code>remote_error</code>.</p></section>
<style>input{width:6rem}#answer{font-size:24px;font-variant-numeric:tabular-nums}</style>`,
);

/** The service: a Node client of the relay that answers the math requests. */
export async function startService(url) {
  const client = createClient({ url, WebSocket });
  await serve(client, "math.add", ({ data }) => data.a + data.b).ready;
  await serve(client, "math.divide", ({ data }) => {
    if (data.b === 0) throw new Error("division by zero");
    return data.a / data.b;
  }).ready;
  return client;
}

/** Starts the relay (embedded broker) with the page, and the service. */
export async function startRpc({ port = 8094, host = "127.0.0.1" } = {}) {
  const relay = createRelay({ livePage: true });
  const server = await servePage({ relay, html: PAGE, app, port, host });
  const socketUrl = `ws://${host}:${server.port}/ns/rpc`;
  const service = await startService(socketUrl);
  return {
    url: server.url,
    socketUrl,
    service,
    async close() {
      service.close();
      await relay.close();
      await server.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rpc = await startRpc();
  // The Node side of the example: a client calling the service once, as a backend would.
  const caller = createClient({ url: rpc.socketUrl, WebSocket });
  const answer = await request(caller, "math.add", { a: 20, b: 22 });
  caller.close();
  process.stdout.write(`PubsubBud rpc on ${rpc.url}: math.add(20, 22) = ${answer.data}\n`);
}

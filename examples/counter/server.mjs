// examples/counter: one count, kept in sync on every page across three relay-node instances over
// Redis. A page on any instance publishes `counter.click`; the counter service (a Node client of
// the first instance) counts and publishes `counter.value`, which Redis carries to every instance.
//   npm start -w @pubsubbud/example-counter          (REDIS=redis://host:6379 to use another)
import { fileURLToPath } from "node:url";
import { createClient, serve } from "@pubsubbud/client";
import { createBrokerFromUrl, createRelay } from "@pubsubbud/relay-node";
import WebSocket from "ws";
import { servePage } from "../shared/page-server.mjs";
import app from "./app.generated.js";

const PAGE = `<!doctype html><meta charset="utf-8"><title>PubsubBud counter</title>
<style>body{font:16px system-ui;margin:3rem;text-align:center}#count{font-size:6rem;margin:1rem}
button{font-size:1.5rem;padding:.5rem 2rem}small{color:#777}</style>
<h1>Counter <small id="state">connecting</small></h1><div id="count">…</div>
<button id="click">+1</button><p><small id="where"></small></p>
<script>document.getElementById("where").textContent = "served by " + location.host</script>
<script src="/app.js"></script>`;

/** Starts three relay instances over Redis, each with the page, and the counter service. */
export async function startCounter({
  redis = process.env.REDIS ?? "redis://127.0.0.1:6379",
  ports = [8091, 8092, 8093],
  host = "127.0.0.1",
} = {}) {
  const instances = [];
  for (const port of ports) {
    const relay = createRelay({ broker: await createBrokerFromUrl(redis), livePage: true });
    instances.push({ relay, server: await servePage({ relay, html: PAGE, app, port, host }) });
  }
  const service = createClient({
    url: `ws://${host}:${instances[0].server.port}/ns/counter`,
    WebSocket,
  });
  // The count lives in the service (from 0 at each start); the relays only carry messages.
  let count = 0;
  const counting = service.subscribe("counter.click", () => {
    count += 1;
    void service.publish("counter.value", { count });
  });
  await counting.ready;
  await serve(service, "counter.get", () => ({ count })).ready;
  return {
    urls: instances.map(({ server }) => server.url),
    /** The count the service holds. */
    count: () => count,
    async close() {
      service.close();
      for (const { relay, server } of instances) {
        await relay.close();
        await server.close();
      }
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const counter = await startCounter();
  process.stdout.write(
    `PubsubBud counter on three relay instances over Redis:\n${counter.urls.map((u) => `  ${u}`).join("\n")}\nOpen two of them and click; each instance's live page is at /live.\n`,
  );
}

// examples/counter: one count, kept in sync on every page across three relay-node instances over
// Redis. A page on any instance publishes `counter.click`; the counter service (a Node client of
// the first instance) counts and publishes `counter.value`, which Redis carries to every instance.
//   npm start -w @pubsubbud/example-counter          (REDIS=redis://host:6379 to use another)
import { fileURLToPath } from "node:url";
import { createClient, serve } from "@pubsubbud/client";
import { createBrokerFromUrl, createRelay } from "@pubsubbud/relay-node";
import WebSocket from "ws";
import { servePage } from "../shared/page-server.mjs";
import { examplePage } from "../shared/page-style.mjs";
import app from "./app.generated.js";

const PAGE = examplePage(
  "Counter",
  `<section style="text-align:center"><div id="count">…</div><button id="click">+1</button>
<p class="note" style="margin-top:12px" id="where"></p>
<p class="note">Every page on every instance shows the same count: a click is published on
<code>counter.click</code>, the counter service publishes <code>counter.value</code>, Redis
carries it to each instance. This instance's live page is at <a href="/live">/live</a>.</p></section>
<style>#count{font-size:96px;font-weight:700;line-height:1.1;margin:8px 0 16px;font-variant-numeric:tabular-nums}
#click{font-size:22px;padding:10px 40px}a{color:#7dd3fc}</style>
<script>document.getElementById("where").textContent = "served by " + location.host</script>`,
);

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

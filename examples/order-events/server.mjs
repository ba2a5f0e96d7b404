// examples/order-events: an order flow over RabbitMQ. The browser places orders and sees every
// event live through a relay; backend handlers (createSubscriber) send mail, update stock and
// keep an audit log. The stock handler fails for orders larger than the stock; after its retries
// the order lands on the dead-letter channel, and the page shows that too.
//   npm start -w @pubsubbud/example-order-events      (BROKER=kafka://127.0.0.1:9092 works too)
import { fileURLToPath } from "node:url";
import {
  createBrokerFromUrl,
  createPublisher,
  createRelay,
  createSubscriber,
} from "@pubsubbud/relay-node";
import { servePage } from "../shared/page-server.mjs";
import app from "./app.generated.js";

const PAGE = `<!doctype html><meta charset="utf-8"><title>PubsubBud shop</title>
<style>body{font:15px system-ui;margin:2rem;max-width:48rem}li{font-family:monospace;margin:.2rem 0}
.dead-letter{color:#b00}.mail{color:#06c}.stock{color:#080}.audit{color:#777}</style>
<h1>Orders <small id="state">connecting</small></h1>
<form id="order"><select id="item"><option>teapot</option><option>kettle</option></select>
<input id="qty" type="number" value="1" min="1"> <button>Place order</button></form>
<ul id="events"></ul><script src="/app.js"></script>`;

/** Starts the shop: relay + page on one HTTP server, and the backend handlers. */
export async function startShop({
  broker = process.env.BROKER ?? "amqp://guest:guest@127.0.0.1:5672",
  port = Number(process.env.PORT ?? 8090),
  host = "127.0.0.1",
  stock = 5,
} = {}) {
  const relay = createRelay({ broker: await createBrokerFromUrl(broker), livePage: false });
  const server = await servePage({ relay, html: PAGE, app, port, host });

  const namespace = "shop";
  const events = await createPublisher({ broker, namespace });
  const handlers = await createSubscriber({
    broker,
    namespace,
    retry: { attempts: 3, delayMs: 50 },
  });
  const left = { teapot: stock, kettle: stock };
  handlers.on(
    "order.created",
    (order) => events.emit("mail", "sent", { order: order.data.id, text: "thanks for your order" }),
    "mailer",
  );
  handlers.on(
    "order.created",
    async ({ data }) => {
      if (data.qty > left[data.item]) throw new Error(`only ${left[data.item]} ${data.item}s left`);
      left[data.item] -= data.qty;
      await events.emit("stock", "updated", { item: data.item, left: left[data.item] });
    },
    "stock",
  );
  handlers.on(
    "order.*",
    (order) => events.emit("audit", "logged", { order: order.data.id }),
    "audit",
  );

  return {
    url: server.url,
    async close() {
      await handlers.close();
      await events.close();
      await relay.close();
      await server.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const shop = await startShop();
  process.stdout.write(
    `PubsubBud shop on ${shop.url} — place an order of more than 5 to see a dead letter\n`,
  );
}

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
import { examplePage } from "../shared/page-style.mjs";
import app from "./app.generated.js";

/** The page; `stock` and `attempts` are what the handlers below use, so the page says them. */
const page = ({ stock, attempts }) =>
  examplePage(
    "Orders",
    `<section><h2>Place an order</h2>
<form id="order"><label>item<select id="item"><option>teapot</option><option>kettle</option></select></label>
<label>quantity<input id="qty" type="number" value="1" min="1" size="4"></label><button>Place order</button></form>
<p class="note" style="margin-top:10px">The shop starts with ${stock} of each item. Every order goes to three
handlers: <b>mail</b> thanks the buyer, <b>stock</b> takes the items, <b>audit</b> logs it. An order for
more than is left makes the stock handler fail; after ${attempts} attempts the order goes to the
dead-letter channel <code>dead-letter.order.created</code>, and mail and audit go on unharmed.</p></section>
<section><h2>Events, newest first</h2><ol class="events" id="events"></ol>
<p class="empty" id="empty">No events yet: place an order, and its mail, stock and audit events appear here.</p></section>
<style>#qty{width:6rem}.order{color:#e2e8f0}.mail{background:#1e3a8a;color:#bfdbfe}.stock{background:#14532d;color:#bbf7d0}
.audit{background:#334155;color:#cbd5e1}.dead-letter{background:#7f1d1d;color:#fecaca}
li.dead-letter-row .text{color:#fecaca}</style>`,
  );

/** Starts the shop: relay + page on one HTTP server, and the backend handlers. */
export async function startShop({
  broker = process.env.BROKER ?? "amqp://guest:guest@127.0.0.1:5672",
  port = Number(process.env.PORT ?? 8090),
  host = "127.0.0.1",
  stock = 5,
} = {}) {
  const relay = createRelay({ broker: await createBrokerFromUrl(broker), livePage: false });
  const attempts = 3;
  const html = page({ stock, attempts });
  const server = await servePage({ relay, html, app, port, host });

  const namespace = "shop";
  const events = await createPublisher({ broker, namespace });
  const handlers = await createSubscriber({
    broker,
    namespace,
    retry: { attempts, delayMs: 50 },
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

// The shop's page: places orders and shows every event of the flow live, one readable row each
// (the message's channel and JSON data stay on the row as data-channel and data-json).
import { createClient, pageLifecycle, type Message } from "@pubsubbud/client";
import { readable, showState } from "../shared/page-kit.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const scheme = location.protocol === "https:" ? "wss" : "ws";
// pageLifecycle: probe the link when the tab comes back or the network returns.
const client = createClient({
  url: `${scheme}://${location.host}/ns/shop`,
  lifecycle: pageLifecycle(),
});
showState(client);

interface Order {
  id: number;
  item: string;
  qty: number;
}
interface DeadLetter {
  message: { channel: string; data: Order };
  handler: string;
  error: string;
}

/** The row's tag and sentence for one event of the flow. */
function describe(message: Message): [tag: string, text: string] {
  const data = message.data as Record<string, unknown>;
  switch (message.channel) {
    case "order.created": {
      const order = data as unknown as Order;
      return ["order", `order #${order.id}: ${order.qty} × ${order.item}`];
    }
    case "mail.sent":
      return ["mail", `mail for order #${data.order}: “${data.text}”`];
    case "stock.updated":
      return ["stock", `${data.item}: ${data.left} left`];
    case "audit.logged":
      return ["audit", `order #${data.order} logged`];
  }
  if (message.channel.startsWith("dead-letter.")) {
    const dead = data as unknown as DeadLetter;
    const reason = dead.error.replace(/^Error: /, "");
    return [
      "dead letter",
      `order #${dead.message.data.id} (${dead.message.data.qty} × ${dead.message.data.item}) failed in handler ${dead.handler}: ${reason}`,
    ];
  }
  return [message.channel, readable(message.data)];
}

const log = $<HTMLOListElement>("events");
for (const pattern of ["order.*", "mail.*", "stock.*", "audit.*", "dead-letter.*"])
  client.subscribe(pattern, (message) => {
    const [tag, text] = describe(message);
    const row = document.createElement("li");
    row.dataset.channel = message.channel;
    row.dataset.json = JSON.stringify(message.data);
    if (tag === "dead letter") row.className = "dead-letter-row";
    const time = document.createElement("time");
    time.textContent = new Date(message.ts).toLocaleTimeString();
    const badge = document.createElement("span");
    badge.className = `tag ${tag.replace(" ", "-")}`;
    badge.textContent = tag;
    const sentence = document.createElement("span");
    sentence.className = "text";
    sentence.textContent = text;
    row.append(time, badge, sentence);
    log.prepend(row);
    $("empty").hidden = true;
  });
let next = 1;
$<HTMLFormElement>("order").addEventListener("submit", (event) => {
  event.preventDefault();
  const item = $<HTMLSelectElement>("item").value;
  const qty = Number($<HTMLInputElement>("qty").value);
  void client.publish("order.created", { id: next++, item, qty });
});

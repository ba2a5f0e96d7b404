// The shop's page: places orders and shows every event of the flow live.
import { createClient } from "@pubsubbud/client";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const scheme = location.protocol === "https:" ? "wss" : "ws";
const client = createClient({ url: `${scheme}://${location.host}/ns/shop` });
client.addEventListener("state", (e) => {
  $("state").textContent = e.detail.state;
});
const log = $<HTMLUListElement>("events");
for (const pattern of ["order.*", "mail.*", "stock.*", "audit.*", "dead-letter.*"])
  client.subscribe(pattern, (message) => {
    const item = document.createElement("li");
    item.className = message.channel.split(".")[0] ?? "";
    item.textContent = `${message.channel} ${JSON.stringify(message.data)}`;
    log.prepend(item);
  });
let next = 1;
$<HTMLFormElement>("order").addEventListener("submit", (event) => {
  event.preventDefault();
  const item = $<HTMLSelectElement>("item").value;
  const qty = Number($<HTMLInputElement>("qty").value);
  void client.publish("order.created", { id: next++, item, qty });
});

// The dashboard: one row per sensor, updated live from `sensor.*`; its reading as readable text
// (the JSON stays on the cell as data-json).
import { createClient, pageLifecycle } from "@pubsubbud/client";
import { readable, showState } from "../shared/page-kit.js";

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const scheme = location.protocol === "https:" ? "wss" : "ws";
// pageLifecycle: probe the link when the tab comes back or the network returns.
const client = createClient({
  url: `${scheme}://${location.host}/ns/iot`,
  lifecycle: pageLifecycle(),
});
showState(client);
const rows = new Map<string, HTMLTableRowElement>();
client.subscribe("sensor.*", (msg) => {
  let row = rows.get(msg.channel);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.sensor = msg.channel;
    row.append(
      document.createElement("td"),
      document.createElement("td"),
      document.createElement("td"),
    );
    rows.set(msg.channel, row);
    $("sensors").append(row);
    $("empty").hidden = true;
    $("table").hidden = false;
  }
  const [name, value, at] = row.children as unknown as HTMLTableCellElement[];
  (name as HTMLTableCellElement).textContent = msg.channel.slice("sensor.".length);
  (value as HTMLTableCellElement).textContent = readable(msg.data);
  (value as HTMLTableCellElement).dataset.json = JSON.stringify(msg.data);
  (at as HTMLTableCellElement).textContent = new Date(msg.ts).toLocaleTimeString();
});

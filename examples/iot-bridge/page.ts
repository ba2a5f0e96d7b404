// The dashboard: one row per sensor, updated live from `sensor.*`.
import { createClient } from "@pubsubbud/client";

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const scheme = location.protocol === "https:" ? "wss" : "ws";
const client = createClient({ url: `${scheme}://${location.host}/ns/iot` });
client.addEventListener("state", (e) => {
  $("state").textContent = e.detail.state;
});
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
  }
  const [name, value, at] = row.children as unknown as HTMLTableCellElement[];
  (name as HTMLTableCellElement).textContent = msg.channel.slice("sensor.".length);
  (value as HTMLTableCellElement).textContent = JSON.stringify(msg.data);
  (at as HTMLTableCellElement).textContent = new Date(msg.ts).toLocaleTimeString();
});

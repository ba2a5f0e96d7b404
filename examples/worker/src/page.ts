// The browser side: the PubsubBud client on the page's global WebSocket, talking to the Worker
// that served the page.
import { createClient, pageLifecycle } from "@pubsubbud/client";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const scheme = location.protocol === "https:" ? "wss" : "ws";
// pageLifecycle: probe the link when the tab comes back or the network returns.
const client = createClient({
  url: `${scheme}://${location.host}/ns/chat`,
  lifecycle: pageLifecycle(),
});
const log = $<HTMLUListElement>("log");
const show = (text: string, cls = "") => {
  const item = document.createElement("li");
  item.textContent = text;
  item.className = cls;
  log.append(item);
};
client.addEventListener("state", (e) => {
  $("state").textContent = e.detail.state;
});
client.addEventListener("gap", () => show("some messages were missed while offline", "note"));
client.subscribe<{ from: string; text: string }>("chat.*", (msg) =>
  show(`${msg.data.from}: ${msg.data.text}`),
);
$<HTMLFormElement>("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>("text");
  const name = $<HTMLInputElement>("name").value || "anon";
  if (input.value) void client.publish("chat.lobby", { from: name, text: input.value });
  input.value = "";
});

// The counter page: asks the counter service for the count, shows every change live, and
// publishes a click. Whichever relay instance serves the page, every page shows the same count.
import { createClient, pageLifecycle, request } from "@pubsubbud/client";
import { showState } from "../shared/page-kit.js";

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const scheme = location.protocol === "https:" ? "wss" : "ws";
// pageLifecycle: probe the link when the tab comes back or the network returns.
const client = createClient({
  url: `${scheme}://${location.host}/ns/counter`,
  lifecycle: pageLifecycle(),
});
showState(client);
let shown = -1;
/** Counts only grow: a late answer never takes the count back. */
const show = (count: number) => {
  if (count <= shown) return;
  shown = count;
  $("count").textContent = String(count);
};
client.subscribe<{ count: number }>("counter.value", (msg) => show(msg.data.count));
const load = async () =>
  show((await request<{ count: number }>(client, "counter.get", null)).data.count);
void load();
// After a gap (messages missed while away too long), ask again.
client.addEventListener("gap", () => void load());
$("click").addEventListener("click", () => void client.publish("counter.click", null));

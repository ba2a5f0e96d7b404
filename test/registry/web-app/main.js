// A page as a user writes it: the client from the registry, bundled by Vite, subscribing to the
// service that served it.
import { createClient } from "@pubsubbud/client";

const state = document.querySelector("#state");
const log = document.querySelector("#log");
const client = createClient({ url: `ws://${location.host}/ns/news` });
const sub = client.subscribe("news.*", (message) => {
  const item = document.createElement("li");
  item.textContent = `${message.channel}: ${message.data.text}`;
  log.append(item);
});
sub.ready.then(
  () => {
    state.textContent = "subscribed";
  },
  (error) => {
    state.textContent = `refused: ${error.message}`;
  },
);

// The calculator page: each button is a request to the Node service through the relay.
import { createClient, pageLifecycle, request } from "@pubsubbud/client";
import { showState } from "../shared/page-kit.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const scheme = location.protocol === "https:" ? "wss" : "ws";
// pageLifecycle: probe the link when the tab comes back or the network returns.
const client = createClient({
  url: `${scheme}://${location.host}/ns/rpc`,
  lifecycle: pageLifecycle(),
});
showState(client);
for (const op of ["add", "divide"])
  $(op).addEventListener("click", async () => {
    const [a, b] = ["a", "b"].map((id) => $<HTMLInputElement>(id).value.trim());
    // Number("") is 0: an empty field would silently send 0, so it is refused here.
    if (!a || !b || !Number.isFinite(Number(a)) || !Number.isFinite(Number(b))) {
      $("answer").textContent = "enter a number in both fields";
      return;
    }
    const operands = { a: Number(a), b: Number(b) };
    try {
      const answer = await request<number>(client, `math.${op}`, operands, { timeout: 5000 });
      $("answer").textContent = `= ${answer.data}`;
    } catch (error) {
      $("answer").textContent = `${(error as { code?: string }).code}: ${(error as Error).message}`;
    }
  });

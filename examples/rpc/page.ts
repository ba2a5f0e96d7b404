// The calculator page: each button is a request to the Node service through the relay.
import { createClient, request } from "@pubsubbud/client";
import { showState } from "../shared/page-kit.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const scheme = location.protocol === "https:" ? "wss" : "ws";
const client = createClient({ url: `${scheme}://${location.host}/ns/rpc` });
showState(client);
for (const op of ["add", "divide"])
  $(op).addEventListener("click", async () => {
    const operands = {
      a: Number($<HTMLInputElement>("a").value),
      b: Number($<HTMLInputElement>("b").value),
    };
    try {
      const answer = await request<number>(client, `math.${op}`, operands, { timeout: 5000 });
      $("answer").textContent = `= ${answer.data}`;
    } catch (error) {
      $("answer").textContent = `${(error as { code?: string }).code}: ${(error as Error).message}`;
    }
  });

/** What the interop suites share: a relay on a given broker, clients, and cleanup after each test. */
import type { ChildProcess } from "node:child_process";
import { createClient, type Message, type PubsubBudClient } from "@pubsubbud/client";
import type { Broker } from "@pubsubbud/relay-core";
import { type RunningRelay, startRelay } from "@pubsubbud/relay-node";
import { afterEach } from "vitest";
import WebSocket from "ws";

let counter = 0;
export const freshNamespace = () => `io${Date.now().toString(36)}-${++counter}`;

export const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

export async function relayWith(broker: Broker): Promise<RunningRelay> {
  const relay = await startRelay({ port: 0, broker });
  cleanup.push(() => relay.close(1000));
  return relay;
}

export function clientOf(relay: RunningRelay, ns: string): PubsubBudClient {
  const client = createClient({ url: `${relay.wsUrl}/ns/${ns}`, WebSocket });
  cleanup.push(() => client.close());
  return client;
}

export async function subscribed(client: PubsubBudClient, pattern: string) {
  const messages: Message[] = [];
  const sub = client.subscribe(pattern, (m) => void messages.push(m));
  await sub.ready;
  return messages;
}

/** Starts a command-line subscriber and collects its output lines. */
export function lines(child: ChildProcess): string[] {
  const out: string[] = [];
  let partial = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split("\n");
    partial = parts.pop() ?? "";
    out.push(...parts);
  });
  cleanup.push(() => void child.kill());
  return out;
}

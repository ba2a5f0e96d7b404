/**
 * Receive credit: a client reading several MiB from a real relay-node acknowledges what it took
 * with `{"type":"ping","rx":N}` once per RX_CREDIT_CHARS, N counting UTF-16 code units of every
 * text frame of the connection, while its liveness pings stay the exact bytes of PING. The frames
 * are observed by a WebSocket hop between client and relay that forwards each one unchanged.
 */
import { createClient, type PubsubBudClient } from "@pubsubbud/client";
import { PING, RX_CREDIT_CHARS, SUBPROTOCOL } from "@pubsubbud/protocol";
import { startRelay } from "@pubsubbud/relay-node";
import WebSocket, { WebSocketServer } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";

interface Hop extends AsyncDisposable {
  readonly url: string;
  /** Text frames the client sent, per connection, in order. */
  readonly sent: string[][];
  /** Lengths of the text frames the client was given, per connection, in order. */
  readonly given: number[][];
  /** Closes every proxied connection (the client reconnects through the hop). */
  cut(): void;
}

/** A WebSocket hop that forwards every frame unchanged both ways and records them. */
async function startHop(upstream: string): Promise<Hop> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const sent: string[][] = [];
  const given: number[][] = [];
  const sockets = new Set<WebSocket>();
  server.on("connection", (client, request) => {
    const relay = new WebSocket(`${upstream}${request.url ?? ""}`, SUBPROTOCOL);
    const out: string[] = [];
    const lengths: number[] = [];
    sent.push(out);
    given.push(lengths);
    const early: string[] = [];
    client.on("message", (data) => {
      const text = String(data);
      out.push(text);
      if (relay.readyState === WebSocket.OPEN) relay.send(text);
      else early.push(text);
    });
    relay.on("open", () => {
      for (const text of early.splice(0)) relay.send(text);
    });
    relay.on("message", (data) => {
      const text = String(data);
      lengths.push(text.length);
      client.send(text);
    });
    for (const [a, b] of [
      [client, relay],
      [relay, client],
    ] as const) {
      sockets.add(a);
      a.on("close", () => b.close());
      a.on("error", () => b.terminate());
    }
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    sent,
    given,
    cut() {
      for (const socket of sockets) socket.terminate();
      sockets.clear();
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The credits a client must send after being given frames of these lengths. */
function expectedCredits(lengths: readonly number[]): number[] {
  const credits: number[] = [];
  let rx = 0;
  let credited = 0;
  for (const length of lengths) {
    rx += length;
    if (rx - credited < RX_CREDIT_CHARS) continue;
    credited = rx;
    credits.push(rx);
  }
  return credits;
}

const pings = (frames: readonly string[]) => frames.filter((f) => f.includes('"type":"ping"'));
const credits = (frames: readonly string[]) =>
  pings(frames)
    .map((f) => (JSON.parse(f) as { rx?: number }).rx)
    .filter((rx) => rx !== undefined);

const clients: PubsubBudClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
const connect = (url: string) => {
  const client = createClient({ url, WebSocket, reconnect: { baseDelayMs: 10, maxDelayMs: 50 } });
  clients.push(client);
  return client;
};

describe("receive credit", () => {
  it("acknowledges every MiB received with the exact count of characters, on each connection", async () => {
    await using relay = await startRelay({ port: 0, limits: { heartbeatMs: 500 } });
    await using hop = await startHop(relay.wsUrl);
    const reader = connect(hop.url);
    const writer = connect(relay.wsUrl);
    let got = 0;
    await reader.subscribe("big.*", () => void got++).ready;
    // 52,800 characters (58,800 UTF-8 bytes) per message: credit counts UTF-16 code units.
    const text = `é€😀${"x".repeat(40)}`.repeat(1200);
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) await writer.publish("big.data", { i, text });
    };
    /** Waits until connection `n` carried as many credits as its frames call for. */
    const settled = (n: number) =>
      waitFor(
        () => credits(hop.sent[n] ?? []).length === expectedCredits(hop.given[n] ?? []).length,
        `the credits of connection ${n}`,
      );
    await send(70); // 3.7 Mi characters
    await waitFor(() => got === 70, "70 messages");
    await settled(0);
    expect(hop.sent).toHaveLength(1);
    const first = hop.sent[0] as string[];
    expect(credits(first)).toEqual(expectedCredits(hop.given[0] as number[]));
    expect(credits(first)).toHaveLength(3);
    await waitFor(() => pings(first).some((f) => f === PING), "a liveness ping");
    // Liveness pings are still the exact bytes a relay may answer without parsing.
    const plain = pings(first).filter((f) => !f.includes('"rx"'));
    expect(plain.length).toBeGreaterThan(0);
    expect(new Set(plain)).toEqual(new Set([PING]));
    for (const f of pings(first).filter((f) => f.includes('"rx"')))
      expect(f).toMatch(/^\{"type":"ping","rx":\d+\}$/);

    // A new socket counts from zero again.
    hop.cut();
    await waitFor(() => hop.sent.length === 2 && reader.state === "open", "reconnected");
    await send(25); // 1.3 Mi characters: one credit on the new connection
    await waitFor(() => got === 95, "95 messages");
    await settled(1);
    const second = hop.sent[1] as string[];
    expect(credits(second)).toEqual(expectedCredits(hop.given[1] as number[]));
    expect(credits(second)).toHaveLength(1);
    expect(credits(second)[0]).toBeLessThan(2 * RX_CREDIT_CHARS);
  }, 60_000);
});

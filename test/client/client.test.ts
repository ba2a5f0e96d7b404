import {
  type ClientState,
  createClient,
  fullJitter,
  type PubsubBudClient,
} from "@pubsubbud/client";
import { startRelay } from "@pubsubbud/relay-node";
import WebSocket from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { startCutProxy } from "../helpers/proxy.js";
import { waitFor } from "../helpers/wait.js";

const clients: PubsubBudClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
const connect = (url: string, options: Partial<Parameters<typeof createClient>[0]> = {}) => {
  const client = createClient({
    url,
    WebSocket,
    reconnect: { baseDelayMs: 10, maxDelayMs: 100 },
    ...options,
  });
  clients.push(client);
  return client;
};
const stateLog = (client: PubsubBudClient) => {
  const log: Array<{ state: ClientState; code?: number }> = [];
  client.addEventListener("state", (e) => log.push({ state: e.detail.state, code: e.detail.code }));
  return log;
};

describe("client", () => {
  it("computes full-jitter backoff: uniform below a ceiling that doubles up to the cap", () => {
    const options = { baseDelayMs: 100, maxDelayMs: 1000, connectTimeoutMs: 1 };
    expect(fullJitter(0, options, () => 0.999)).toBe(99);
    expect(fullJitter(3, options, () => 0.999)).toBe(799);
    expect(fullJitter(10, options, () => 0.999)).toBe(999);
    expect(fullJitter(10, options, () => 0)).toBe(0);
  });

  it("delivers __proto__ and constructor keys as plain data, touching no prototype", async () => {
    await using relay = await startRelay({ port: 0 });
    const client = connect(relay.wsUrl);
    const got: Array<{ data: unknown }> = [];
    await client.subscribe("p.*", (m) => void got.push(m)).ready;
    // JSON.parse makes __proto__ an own key, as a hostile peer's frame would.
    const hostile = JSON.parse(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}',
    );
    await client.publish("p.x", hostile);
    await waitFor(() => got.length === 1, "delivery");
    const [message] = got as [{ data: Record<string, unknown> }];
    expect(Object.keys(message.data)).toEqual(["__proto__", "constructor"]);
    expect(Object.getPrototypeOf(message.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // As a header key it would be dropped by any record built from it: refused, not lost.
    await expect(
      client.publish("p.x", 1, { headers: JSON.parse('{"__proto__":"x"}') }),
    ).rejects.toMatchObject({ code: "publish_refused", message: /__proto__/ });
  });

  it("leaves channels and patterns to the relay: its refusal names the fault, the connection stays", async () => {
    await using relay = await startRelay({ port: 0 });
    const client = connect(relay.wsUrl);
    const sub = client.subscribe("bad pattern", () => {});
    await expect(sub.ready).rejects.toMatchObject({
      code: "subscribe_refused",
      wireCode: "bad_pattern",
      message: /printable ASCII/,
    });
    await expect(client.publish("with*star", 1)).rejects.toMatchObject({
      code: "publish_refused",
      wireCode: "bad_channel",
      message: /wildcards belong in patterns/,
    });
    expect(client.state).toBe("open");
    await expect(client.publish("ok.x", 1)).resolves.toMatchObject({ id: expect.any(String) });
    // The frame-size limit stays the client's: an oversized frame would be refused on every reconnect.
    await expect(client.publish("ok.x", "x".repeat(70_000))).rejects.toMatchObject({
      code: "bad_argument",
    });
    // So is data JSON cannot carry: a rejection, never a throw out of publish().
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const data of [10n, cycle])
      await expect(client.publish("ok.x", data)).rejects.toMatchObject({
        code: "bad_argument",
        message: /data is not JSON/,
      });
    expect(client.state).toBe("open");
  });

  it("calls a token function on every connect", async () => {
    const presented: Array<string | undefined> = [];
    await using relay = await startRelay({
      port: 0,
      authenticate: ({ token }) => {
        presented.push(token);
        return {};
      },
    });
    await using proxy = await startCutProxy(relay.port);
    let calls = 0;
    const client = connect(proxy.url(), { token: async () => `t${++calls}` });
    await client.publish("a", 1);
    proxy.cut();
    await waitFor(() => client.state === "reconnecting", "reconnecting");
    proxy.restore();
    await client.publish("a", 2);
    // Attempts while the link is down call it too; each hello carries the newest token.
    expect(presented).toEqual(["t1", `t${calls}`]);
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("holds publishes made while disconnected and sends them, once each and in order, on reconnect", async () => {
    await using relay = await startRelay({ port: 0 });
    await using proxy = await startCutProxy(relay.port);
    const watcher = connect(relay.wsUrl);
    const seen: unknown[] = [];
    await watcher.subscribe("q.*", (m) => void seen.push(m.data)).ready;
    const publisher = connect(proxy.url(), { maxQueuedPublishes: 20 });
    await publisher.publish("q.a", "online");
    proxy.cut();
    await waitFor(() => publisher.state === "reconnecting", "reconnecting");
    const queued = Array.from({ length: 20 }, (_, i) => publisher.publish("q.a", i));
    await expect(publisher.publish("q.a", "one too many")).rejects.toMatchObject({
      code: "queue_full",
    });
    proxy.restore();
    const acks = await Promise.all(queued);
    expect(new Set(acks.map((a) => a.offset)).size).toBe(20);
    await waitFor(() => seen.length === 21, "21 deliveries");
    expect(seen).toEqual(["online", ...Array.from({ length: 20 }, (_, i) => i)]);
  });

  it("detects a dead link with pings and reconnects without losing messages", async () => {
    await using relay = await startRelay({ port: 0, limits: { heartbeatMs: 100 } });
    await using proxy = await startCutProxy(relay.port);
    const client = connect(proxy.url());
    const log = stateLog(client);
    const seen: unknown[] = [];
    await client.subscribe("live.*", (m) => void seen.push(m.data)).ready;
    const publisher = connect(relay.wsUrl);
    await publisher.publish("live.a", 1);
    await waitFor(() => seen.length === 1, "first message");
    proxy.freeze();
    await publisher.publish("live.a", 2);
    await waitFor(() => log.some((s) => s.state === "reconnecting"), "the dead link to be noticed");
    await waitFor(() => seen.length === 2, "the missed message");
    expect(seen).toEqual([1, 2]);
    expect(log.find((s) => s.state === "reconnecting")?.code).toBe(4000);
  });

  it("follows a relay's shutdown advice to another relay and reports the gap of a new log", async () => {
    const first = await startRelay({ port: 0, limits: { shutdownRetrySpreadMs: 100 } });
    const port = first.port;
    const client = connect(first.wsUrl);
    const gaps: unknown[] = [];
    client.addEventListener("gap", (e) => gaps.push(e.detail));
    await client.subscribe("s.*", () => {}).ready;
    await first.close(1000);
    await using second = await startRelay({ port });
    await waitFor(() => gaps.length === 1 && client.state === "open", "reconnect to the new relay");
    await expect(client.publish("s.a", 1)).resolves.toMatchObject({ offset: "1" });
    expect(second.core.stats().connections).toBe(1);
  });

  it("uses the runtime's global WebSocket where there is one, and explains the option where not", async () => {
    await using relay = await startRelay({ port: 0 });
    if (typeof (globalThis as { WebSocket?: unknown }).WebSocket !== "function") {
      // Node 20: no global WebSocket.
      expect(() => createClient({ url: relay.wsUrl })).toThrow(/pass the WebSocket option/);
      return;
    }
    // Node 22+, browsers, workers.
    const client = createClient({ url: relay.wsUrl });
    clients.push(client);
    const got: unknown[] = [];
    await client.subscribe("g.*", (m) => void got.push(m.data)).ready;
    await client.publish("g.x", "via the global WebSocket");
    await waitFor(() => got.length === 1, "delivery");
    expect(got).toEqual(["via the global WebSocket"]);
  });
});

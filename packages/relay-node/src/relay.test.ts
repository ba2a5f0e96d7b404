import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "@pubsubbud/client";
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { createRelay, startRelay } from "./relay.js";

describe("createRelay", () => {
  it("mounts on a user's own HTTP server beside the user's routes", async () => {
    const relay = createRelay({ livePage: false });
    const server = createServer(async (req, res) => {
      if (await relay.handleRequest(req, res)) return;
      res.end("app route");
    });
    server.on("upgrade", relay.handleUpgrade);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/anything`)).text()).toBe("app route");
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // With the live page off, "/" belongs to the app.
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("app route");
      const client = createClient({ url: `ws://127.0.0.1:${port}/ns/app`, WebSocket });
      const got: unknown[] = [];
      await client.subscribe("x", (m) => void got.push(m.data)).ready;
      await client.publish("x", "through the user's server");
      await expect.poll(() => got).toEqual(["through the user's server"]);
      client.close();
    } finally {
      await relay.close(1000);
      server.close();
    }
  });

  it("refuses upgrades on unknown paths, bad namespaces and foreign subprotocols before accepting", async () => {
    await using relay = await startRelay({ port: 0 });
    const attempt = (path: string, protocol?: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${relay.wsUrl}${path}`, protocol);
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.on("open", () => resolve(101));
      });
    expect(await attempt("/elsewhere")).toBe(404);
    expect(await attempt("/ns/..bad")).toBe(400);
    expect(await attempt("/ns/ok", "mqtt")).toBe(400);
    expect(await attempt("/ns/ok", "pubsubbud.v1")).toBe(101);
  });

  it("shows accepted and delivered messages in the live page's stats tail, oldest first", async () => {
    await using relay = await startRelay({ port: 0, livePage: true });
    const post = (channel: string, data: unknown) =>
      fetch(`${relay.url}/v1/ns/default/publish`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ channel, data }),
      });
    await post("nobody.listens", 1);
    const client = createClient({ url: relay.wsUrl, WebSocket });
    await client.subscribe("seen.*", () => {}).ready;
    await post("seen.here", 2);
    await expect
      .poll(async () => {
        const stats = (await (await fetch(`${relay.url}/v1/stats`)).json()) as {
          tail: Array<{ channel: string; data: unknown }>;
        };
        return stats.tail.map((m) => [m.channel, m.data]);
      })
      .toEqual([
        ["nobody.listens", 1],
        ["seen.here", 2],
      ]);
    client.close();
  });
});

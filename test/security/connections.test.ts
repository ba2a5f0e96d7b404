/**
 * Connections per client address (limits.maxConnectionsPerIp): a client opening socket after
 * socket is refused with HTTP 429 before the upgrade, while other addresses keep connecting;
 * through a real relay-node and relay-worker in workerd.
 */
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { createRelay, type RunningRelay } from "@pubsubbud/relay-node";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRaw, type RawPeer, rawClientId, refusedUpgrade } from "../helpers/raw.js";
import { waitFor } from "../helpers/wait.js";

/** A peer past its welcome. */
async function welcomed(url: string, headers?: Record<string, string>): Promise<RawPeer> {
  const peer = await openRaw(url, headers);
  peer.send({ type: "hello", client: rawClientId("ip") });
  await peer.next((f) => f.type === "welcome", "welcome");
  return peer;
}

const crowded = {
  status: 429,
  body: { code: "too_many_connections", message: expect.stringMatching(/maxConnectionsPerIp/) },
};

describe("connections per address on relay-node", () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await createRelay({ limits: { maxConnectionsPerIp: 3 } }).listen({ port: 0 });
  });
  afterAll(() => relay.close());

  it("refuses the connection past the limit before the upgrade, and admits one again after a close", async () => {
    const url = `${relay.wsUrl}/ns/chat`;
    const peers = [await welcomed(url), await welcomed(url), await welcomed(url)];
    expect(await refusedUpgrade(url)).toEqual(crowded);
    // The refused attempt held nothing: the three peers still work.
    peers[0]?.send({ type: "ping" });
    await peers[0]?.next((f) => f.type === "pong", "pong");
    peers[1]?.close();
    await waitFor(() => relay.core.stats().connections === 2, "the close to be counted");
    peers.push(await welcomed(url));
    expect(await refusedUpgrade(url)).toEqual(crowded);
    for (const peer of peers) peer.close();
  });

  it("survives clients that reset the socket of a refused upgrade (no uncaught ECONNRESET)", async () => {
    for (let i = 0; i < 50; i++)
      await new Promise<void>((resolve) => {
        const socket = connect(relay.port, "127.0.0.1", () =>
          socket.write(
            "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
          ),
        );
        socket.on("error", () => {});
        // The refusal arrived; a hostile or crashing client answers with a TCP reset.
        socket.once("data", (data) => {
          expect(String(data)).toMatch(/^HTTP\/1\.1 404/);
          socket.resetAndDestroy();
          resolve();
        });
      });
    // Before the fix the relay process died here; now it still serves.
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    const peer = await welcomed(`${relay.wsUrl}/ns/after-resets`);
    peer.close();
  });

  it("counts by the proxy's client-address header when one is configured", async () => {
    await using proxied = await createRelay({
      limits: { maxConnectionsPerIp: 2 },
      clientIpHeader: "x-real-ip",
    }).listen({ port: 0 });
    const url = `${proxied.wsUrl}/ns/chat`;
    const alice = { "x-real-ip": "203.0.113.7" };
    const peers = [await welcomed(url, alice), await welcomed(url, alice)];
    expect(await refusedUpgrade(url, alice)).toEqual(crowded);
    // Another address behind the same proxy (the same socket address) still gets in.
    peers.push(await welcomed(url, { "x-real-ip": "198.51.100.2" }));
    for (const peer of peers) peer.close();
  });
});

describe("connections per address on relay-worker in workerd", () => {
  let worker: Miniflare;
  let url: string;
  beforeAll(async () => {
    worker = new Miniflare({
      modules: true,
      scriptPath: fileURLToPath(
        new URL("../../packages/relay-worker/dist/worker.js", import.meta.url),
      ),
      compatibilityDate: "2026-04-01",
      durableObjects: { NAMESPACES: { className: "NamespaceObject", useSQLite: true } },
      bindings: { ANONYMOUS: "all", MAX_CONNECTIONS_PER_IP: "2" },
      host: "127.0.0.1",
      port: 0,
    });
    url = `ws://127.0.0.1:${(await worker.ready).port}/ns/chat`;
  });
  afterAll(() => worker.dispose());

  it("refuses the connection past the limit with 429, by CF-Connecting-IP", async () => {
    const alice = { "CF-Connecting-IP": "203.0.113.7" };
    const peers = [await welcomed(url, alice), await welcomed(url, alice)];
    expect(await refusedUpgrade(url, alice)).toEqual(crowded);
    peers.push(await welcomed(url, { "CF-Connecting-IP": "198.51.100.2" }));
    peers[0]?.close();
    await peers[0]?.closed;
    // The object drops the socket once its close completes; each try is one round trip.
    let admitted: RawPeer | undefined;
    for (let tries = 0; tries < 100 && !admitted; tries++)
      admitted = await openRaw(url, alice).catch(() => undefined);
    expect(admitted).toBeDefined();
    peers.push(admitted as RawPeer);
    for (const peer of peers) peer.close();
  });
});

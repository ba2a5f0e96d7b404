/**
 * Slowloris against relay-node's own server: sockets that open and never finish their headers
 * (an upgrade's or a request's) are not WebSockets, so `limits.maxConnectionsPerIp` never counts
 * them. They are bounded by a header timeout and by a count per address; a client from another
 * address keeps connecting and publishing meanwhile.
 */
import { createRelay } from "@pubsubbud/relay-node";
import { describe, expect, it } from "vitest";
import { rawRequest, stalledSocket } from "../helpers/http-raw.js";
import { openRaw, rawClientId } from "../helpers/raw.js";

const HALF_AN_UPGRADE =
  "GET /ns/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n";

/** A client from `localAddress` whose publish comes back to it. */
async function roundTrip(wsUrl: string, localAddress: string): Promise<void> {
  const peer = await openRaw(`${wsUrl}/ns/chat`, {}, { localAddress });
  peer.send({
    type: "hello",
    client: rawClientId("other"),
    subscriptions: [{ id: "s", pattern: "x" }],
  });
  await peer.next((f) => f.type === "subscribed", "subscribed");
  // A fresh id each time: a reused one would be acknowledged as a duplicate, not delivered.
  const id = rawClientId("message");
  peer.send({ type: "publish", id, channel: "x", data: 1 });
  await peer.next((f) => f.type === "message" && f.id === id, "its own message");
  peer.close();
}

describe("slow upgrades and requests on relay-node's own server", () => {
  it("answers 408 request_timeout and closes a socket whose headers never finish", async () => {
    await using relay = await createRelay({
      server: { headersTimeoutMs: 200, requestTimeoutMs: 400 },
    }).listen({ port: 0 });
    const upgrade = await stalledSocket(relay.port, HALF_AN_UPGRADE);
    const request = await stalledSocket(relay.port, "POST /v1/ns/chat/publish HTTP/1.1\r\nHo");
    expect(await upgrade.answer).toMatchObject({ status: 408, json: { code: "request_timeout" } });
    expect(await request.answer).toMatchObject({ status: 408, json: { code: "request_timeout" } });
  });

  it("refuses an address's sockets past maxPendingPerIp with 429, while another address still gets through", async () => {
    await using relay = await createRelay({ server: { maxPendingPerIp: 4 } }).listen({ port: 0 });
    const held = await Promise.all(
      [0, 1, 2, 3].map(() => stalledSocket(relay.port, HALF_AN_UPGRADE, "127.0.0.3")),
    );
    const refused = await rawRequest(relay.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", {
      localAddress: "127.0.0.3",
    });
    expect(refused).toMatchObject({ status: 429, json: { code: "too_many_pending" } });
    // Another address is not held back by them.
    await roundTrip(relay.wsUrl, "127.0.0.4");
    // Once the slow sockets are gone, their address is admitted again.
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map(({ answer }) => answer));
    let admitted = await rawRequest(relay.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", {
      localAddress: "127.0.0.3",
    });
    // The server counts a socket out when it sees it close, one event-loop turn after the client.
    for (let tries = 0; tries < 100 && admitted.status === 429; tries++)
      admitted = await rawRequest(relay.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", {
        localAddress: "127.0.0.3",
      });
    expect(admitted.status).toBe(200);
  });

  it("counts idle keep-alive sockets (the next headers may trickle), not requests being served", async () => {
    await using relay = await createRelay({ server: { maxPendingPerIp: 2 } }).listen({ port: 0 });
    const from = "127.0.0.6";
    const healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    // Two requests whose headers arrived and whose bodies have not: being served, not pending.
    const body =
      "POST /v1/ns/chat/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    const serving = [
      await stalledSocket(relay.port, body, from),
      await stalledSocket(relay.port, body, from),
    ];
    // Each takes its slot while connecting; wait until its headers are read and the slot is free.
    let admitted = await rawRequest(relay.port, healthz, { localAddress: from });
    for (let tries = 0; tries < 100 && admitted.status === 429; tries++)
      admitted = await rawRequest(relay.port, healthz, { localAddress: from });
    expect(admitted.status).toBe(200);
    for (const { socket } of serving) socket.destroy();
    // Two sockets that made a request and stay open (keep-alive) wait for headers again.
    const idle = [
      await stalledSocket(relay.port, healthz, "127.0.0.7"),
      await stalledSocket(relay.port, healthz, "127.0.0.7"),
    ];
    let refused = await rawRequest(relay.port, healthz, { localAddress: "127.0.0.7" });
    for (let tries = 0; tries < 100 && refused.status !== 429; tries++)
      refused = await rawRequest(relay.port, healthz, { localAddress: "127.0.0.7" });
    expect(refused).toMatchObject({ status: 429, json: { code: "too_many_pending" } });
    for (const { socket } of idle) socket.destroy();
  });

  it("stops counting a socket once it is a WebSocket: maxConnectionsPerIp counts it from then on", async () => {
    await using relay = await createRelay({ server: { maxPendingPerIp: 2 } }).listen({ port: 0 });
    // Three WebSockets from one address, more than its pending bound.
    for (let i = 0; i < 3; i++) await roundTrip(relay.wsUrl, "127.0.0.5");
    const open = await Promise.all(
      [0, 1, 2].map(async () => {
        const peer = await openRaw(`${relay.wsUrl}/ns/chat`, {}, { localAddress: "127.0.0.5" });
        peer.send({ type: "hello", client: rawClientId("ws") });
        await peer.next((f) => f.type === "welcome", "welcome");
        return peer;
      }),
    );
    expect(relay.core.stats().connections).toBe(3);
    for (const peer of open) peer.close();
  });
});

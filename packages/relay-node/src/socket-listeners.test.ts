import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { connect as connectTcp } from "node:net";
import type { Duplex } from "node:stream";
import WebSocket, { WebSocketServer } from "ws";
import { describe, expect, it } from "vitest";
import { createOwnServer, PendingSockets, serverLimits } from "./own-server.js";
import { createRelay } from "./relay.js";

/** The listeners on the server side of one upgraded socket, by event, after a client opened. */
async function listenersAfterUpgrade(
  server: ReturnType<typeof createServer>,
): Promise<Record<string, number>> {
  const upgraded = new Promise<Duplex>((resolve) =>
    server.on("upgrade", (_req: IncomingMessage, socket: Duplex) => resolve(socket)),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, "pubsubbud.v1");
  await new Promise((resolve) => client.once("open", resolve));
  const socket = await upgraded;
  const counts = Object.fromEntries(
    socket.eventNames().map((name) => [String(name), socket.listenerCount(name)]),
  );
  client.terminate();
  server.close();
  return counts;
}

describe("relay-node's upgraded sockets", () => {
  it("keep only the listeners a bare ws server leaves on them: none of the relay's own", async () => {
    const bare = new WebSocketServer({ noServer: true, clientTracking: false });
    const plain = createServer();
    plain.on("upgrade", (req, socket, head) => bare.handleUpgrade(req, socket, head, () => {}));
    const baseline = await listenersAfterUpgrade(plain);

    const relay = createRelay({ livePage: false });
    const own = createOwnServer({
      limits: serverLimits(),
      pending: new PendingSockets(8),
      handleRequest: relay.handleRequest,
      handleUpgrade: relay.handleUpgrade,
    });
    try {
      expect(await listenersAfterUpgrade(own)).toEqual(baseline);
    } finally {
      await relay.close(100);
    }
  });

  it("are ended by close(timeoutMs) when the peer never answers the closing handshake", async () => {
    const relay = createRelay({ livePage: false });
    const running = await relay.listen({ port: 0 });
    // A hand-made WebSocket client that reads everything and answers nothing: the relay's close
    // frame stays unanswered, so only the relay's own deadline ends the connection (ws's own
    // close timeout is 30 s, past this test's limit).
    const socket = connectTcp(running.port, "127.0.0.1");
    const ended = new Promise((resolve) => socket.on("close", resolve));
    socket.write(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: pubsubbud.v1\r\n\r\n",
    );
    let received = "";
    const upgraded = new Promise<void>((resolve) =>
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
        if (received.includes("\r\n\r\n")) resolve();
      }),
    );
    await upgraded;
    expect(received).toMatch(/^HTTP\/1.1 101 /);
    await relay.close(200);
    await ended;
    // The relay said why before it cut: a close frame (opcode 8) went out first.
    expect(received.slice(received.indexOf("\r\n\r\n") + 4).charCodeAt(0)).toBe(0x88);
  }, 10_000);
});

/**
 * The namespace a relay holds, against a model (fast-check command sequences): connections open,
 * say hello with a wildcard subscription, publish and close in any order, any of them still in its
 * handshake. Whatever the order, the relay holds one state per namespace name while a connection
 * holds it (one subscription index, one budget, one broker listener), its members are exactly the
 * connections past their hello, and a publish reaches each of them once.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Connection } from "./types.js";
import { createMemoryBroker } from "./memory-broker.js";
import { createRelayCore } from "./relay.js";
import { fakeSocket, hello, tick } from "./relay-fixture.js";

type Step = { op: "open" } | { op: "hello"; peer: number } | { op: "close"; peer: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ op: "open" as const }),
  fc.record({ op: fc.constant("hello" as const), peer: fc.nat(5) }),
  fc.record({ op: fc.constant("close" as const), peer: fc.nat(5) }),
);

interface Peer {
  connection: Connection;
  socket: ReturnType<typeof fakeSocket>;
  state: "handshake" | "member" | "closed";
}

async function run(steps: Step[]): Promise<void> {
  const broker = createMemoryBroker();
  let listeners = 0;
  const core = createRelayCore({
    broker: {
      ...broker,
      listen: async (ns, listener) => {
        listeners++;
        const stop = await broker.listen(ns, listener);
        return async () => {
          listeners--;
          await stop();
        };
      },
    },
    // One wildcard pattern per member: a second copy of the namespace would take more.
    limits: { maxPatternsPerPublish: 1 },
  });
  const peers: Peer[] = [];
  for (const [n, next] of steps.entries()) {
    const peer = next.op === "open" ? undefined : peers[next.peer % Math.max(1, peers.length)];
    if (next.op === "open") {
      const socket = fakeSocket();
      const connection = core.accept({ namespace: "n", transport: socket.transport });
      peers.push({ connection, socket, state: "handshake" });
    } else if (peer?.state === "handshake" && next.op === "hello") {
      peer.connection.receive(hello({ subscriptions: [{ id: "s", pattern: "room.*" }] }));
      peer.state = "member";
    } else if (peer && peer.state !== "closed" && next.op === "close") {
      peer.connection.closed();
      peer.state = "closed";
    }
    await tick();
    const members = peers.filter((p) => p.state === "member");
    const held = peers.some((p) => p.state !== "closed");
    const namespaces = core.stats().namespaces;
    expect(namespaces.map((ns) => ns.name)).toEqual(held ? ["n"] : []);
    if (held) expect(namespaces[0]?.connections).toBe(members.length);
    expect(listeners).toBe(members.length > 0 ? 1 : 0);
    // Every member's one pattern was admitted: they share one index, so one pattern in all.
    for (const member of members)
      expect(member.socket.frames().filter((f) => f.type === "error")).toEqual([]);
    await core.publish("n", { channel: "room.1", id: `m${n}`, data: n });
    await tick();
    for (const member of members)
      expect(member.socket.frames().filter((f) => f.id === `m${n}`)).toHaveLength(1);
  }
}

describe("namespace lifecycle (model)", () => {
  it("holds one state per namespace, whoever leaves before or after their hello", async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), run), {
      numRuns: 200,
    });
  });

  it("keeps the namespace when a connection leaves during another's handshake (the probe's case)", async () => {
    await run([
      { op: "open" },
      { op: "open" },
      { op: "close", peer: 0 },
      { op: "hello", peer: 1 },
      { op: "open" },
      { op: "hello", peer: 2 },
    ]);
  });
});

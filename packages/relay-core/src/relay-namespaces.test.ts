import { CloseCode } from "@pubsubbud/protocol";
import { describe, expect, it } from "vitest";
import { createMemoryBroker } from "./memory-broker.js";
import { createRelayCore } from "./relay.js";
import { fakeSocket, hello, setup, tick } from "./relay-fixture.js";

/** The engine around the sessions: namespaces and their broker feeds, server-side publishes. */
describe("relay-core namespaces and server-side publishes", () => {
  it("never keeps an inbox reply in the stats tail, whoever listens", async () => {
    const { core, open } = setup();
    const peer = open();
    peer.connection.receive(hello({ subscriptions: [{ id: "s", pattern: "*" }] }));
    await tick();
    const inbox = peer.frames().find((f) => f.type === "welcome").inbox;
    await core.publish("default", { channel: inbox, data: "secret reply" });
    await core.publish("other", { channel: "_inbox.somebody", data: "secret too" });
    await core.publish("default", { channel: "public", data: "shown" });
    expect(core.stats().tail.map((m) => m.data)).toEqual(["shown"]);
  });

  it("refuses a server-side publish whose data is not JSON (bad_data), and the log goes on as before", async () => {
    const { core, open } = setup();
    const peer = open();
    peer.connection.receive(hello({ subscriptions: [{ id: "s", pattern: "a" }] }));
    await tick();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const data of [10n, cycle, undefined, () => 1])
      await expect(core.publish("default", { channel: "a", id: "x", data })).rejects.toMatchObject({
        code: "bad_data",
        message: /data (must be a JSON value|cannot be serialized)/,
      });
    // Nothing was taken: the id is free, the next offset is the first, and only it is delivered.
    expect(await core.publish("default", { channel: "a", id: "x", data: 1 })).toEqual({
      id: "x",
      offset: "1",
      duplicate: false,
    });
    await tick();
    expect(peer.frames().filter((f) => f.type === "message")).toMatchObject([
      { id: "x", data: 1, offset: "1" },
    ]);
  });

  it("tells every client to reconnect after a jittered delay on shutdown", async () => {
    const { core, open } = setup({ limits: { shutdownRetrySpreadMs: 2000 } });
    const peers = [open(), open(), open()];
    for (const peer of peers) peer.connection.receive(hello());
    await tick();
    core.shutdown();
    for (const peer of peers) {
      expect(peer.closes[0]?.code).toBe(CloseCode.ShuttingDown);
      const delay = Number(/^retry=(\d+)$/.exec(peer.closes[0]?.reason ?? "")?.[1]);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(2000);
    }
  });

  it("stops listening to a namespace on the broker when its last session leaves", async () => {
    const broker = createMemoryBroker();
    let listening = 0;
    const counted = {
      ...broker,
      listen: async (ns: string, fn: Parameters<typeof broker.listen>[1]) => {
        listening++;
        const stop = await broker.listen(ns, fn);
        return async () => {
          listening--;
          await stop();
        };
      },
    };
    const core = createRelayCore({ broker: counted });
    const connections = [0, 1].map(() =>
      core.accept({ namespace: "n", transport: fakeSocket().transport }),
    );
    for (const c of connections) c.receive(hello());
    await tick();
    expect(listening).toBe(1);
    connections[0]?.closed();
    expect(listening).toBe(1);
    connections[1]?.closed();
    await tick();
    expect(listening).toBe(0);
  });

  it("refuses a bad namespace with a clear error", () => {
    const { core } = setup();
    expect(() => core.accept({ namespace: "../etc", transport: fakeSocket().transport })).toThrow(
      /namespace must be/,
    );
  });

  it("asks every session of a namespace to resume (4102, jittered retry) when the broker reports a gap", async () => {
    const broker = createMemoryBroker();
    const gaps = new Map<string, () => void>();
    const gappy = {
      ...broker,
      listen: async (ns: string, listener: Parameters<typeof broker.listen>[1]) => {
        gaps.set(ns, () => listener.gap());
        return broker.listen(ns, listener);
      },
    };
    const core = createRelayCore({ broker: gappy });
    const peers = [0, 1].map(() => {
      const socket = fakeSocket();
      return {
        ...socket,
        connection: core.accept({ namespace: "n", transport: socket.transport }),
      };
    });
    const other = fakeSocket();
    core.accept({ namespace: "other", transport: other.transport }).receive(hello());
    for (const peer of peers) peer.connection.receive(hello());
    await tick();
    gaps.get("n")?.();
    for (const peer of peers) {
      expect(peer.closes[0]?.code).toBe(CloseCode.BrokerGap);
      expect(Number(/^retry=(\d+)$/.exec(peer.closes[0]?.reason ?? "")?.[1])).toBeLessThanOrEqual(
        1000,
      );
    }
    expect(other.closes).toEqual([]);
  });

  it("does not deliver live a message the welcome or replay already covered (a lagging listener)", async () => {
    const broker = createMemoryBroker();
    let lagging: Parameters<typeof broker.listen>[1] | undefined;
    // A listener that hands messages over late, as one reading a shared log may.
    const lagged = {
      ...broker,
      listen: async (_ns: string, listener: Parameters<typeof broker.listen>[1]) => {
        lagging = listener;
        return async () => {};
      },
    };
    const core = createRelayCore({ broker: lagged });
    await broker.publish("n", { channel: "a", id: "old", data: 1 });
    const peer = fakeSocket();
    core
      .accept({ namespace: "n", transport: peer.transport })
      .receive(hello({ subscriptions: [{ id: "s", pattern: "*" }] }));
    await tick();
    await broker.publish("n", { channel: "a", id: "new", data: 2 });
    const [old, fresh] =
      (await broker.since("n", { epoch: (await broker.head("n")).epoch, offset: "" })) ?? [];
    lagging?.message(old as never);
    lagging?.message(fresh as never);
    await tick();
    expect(
      peer
        .frames()
        .filter((f) => f.type === "message")
        .map((f) => f.id),
    ).toEqual(["new"]);
  });
});

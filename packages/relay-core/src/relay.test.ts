import { CloseCode } from "@pubsubbud/protocol";
import { describe, expect, it } from "vitest";
import type { PublishInput, Publisher } from "./broker.js";
import { TokenError } from "./auth.js";
import { createMemoryBroker } from "./memory-broker.js";
import { createRelayCore } from "./relay.js";
import { fakeSocket, hello, setup, tick } from "./relay-fixture.js";
import { type SessionSnapshot, silentLogger } from "./types.js";

describe("relay-core sessions", () => {
  it("batches the deliveries of one tick into a single socket write", async () => {
    const { open } = setup();
    const peer = open();
    peer.connection.receive(hello({ subscriptions: [{ id: "s", pattern: "b.*" }] }));
    await tick();
    peer.sent.length = 0;
    peer.connection.receive(
      JSON.stringify(
        [1, 2, 3].map((n) => ({ type: "publish", id: `m${n}`, channel: "b.x", data: n })),
      ),
    );
    await tick();
    // The three deliveries and their acks leave in one write. The memory broker answers each
    // publish as it appends it, so each ack follows its own message.
    expect(peer.sent).toHaveLength(1);
    expect(peer.frames().map((f) => `${f.type} ${f.data ?? f.id}`)).toEqual([
      "message 1",
      "ack m1",
      "message 2",
      "ack m2",
      "message 3",
      "ack m3",
    ]);
  });

  it("processes frames pipelined behind hello after welcome, in order, while authentication is pending", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { open } = setup({
      authenticate: async () => {
        await gate;
        return { user: "u" };
      },
    });
    const peer = open();
    peer.connection.receive(hello());
    peer.connection.receive(JSON.stringify({ type: "subscribe", id: "s", pattern: "p.*" }));
    peer.connection.receive(JSON.stringify({ type: "publish", id: "m", channel: "p.1", data: 1 }));
    await tick();
    expect(peer.sent).toEqual([]);
    release();
    await tick();
    await tick();
    expect(peer.frames().map((f) => f.type)).toEqual(["welcome", "subscribed", "message", "ack"]);
  });

  it("refuses a token with unauthorized and the no-reconnect close code", async () => {
    const { open } = setup({ authenticate: () => false });
    const peer = open();
    peer.connection.receive(hello({ token: "bad" }));
    await tick();
    expect(peer.frames()).toMatchObject([{ type: "error", code: "unauthorized" }]);
    expect(peer.closes).toEqual([{ code: CloseCode.Unauthorized, reason: "unauthorized" }]);
  });

  it("cuts a slow consumer whose socket is too far behind, with its documented code", async () => {
    const { open } = setup({ limits: { maxBufferedBytes: 1000 } });
    const slow = open(5000);
    slow.connection.receive(hello());
    await tick();
    expect(slow.closes).toEqual([
      { code: CloseCode.SlowConsumer, reason: "slow consumer: outbound buffer full" },
    ]);
  });

  it("streams a replay in bounded batches, each after the socket wrote the last, then live; and cuts live data piling up behind a replay that is not read", async () => {
    const { core, open } = setup({
      authenticate: () => ({ grants: { subscribe: ["r.*"], publish: ["*"] } }),
      limits: { maxBufferedBytes: 3000, maxBatchBytes: 1000 },
    });
    const writer = open();
    writer.connection.receive(hello());
    await tick();
    const publish = (prefix: string, count: number, channel = "r.x") =>
      writer.connection.receive(
        JSON.stringify(
          Array.from({ length: count }, (_, i) => ({
            type: "publish",
            id: `${prefix}${i}`,
            channel,
            data: "x".repeat(100),
          })),
        ),
      );
    publish("m", 40);
    await tick();
    const welcome = writer.frames().find((f) => f.type === "welcome");
    // A reader resumes from the start of the log: ~8 KB of replay in batches of at most 1 KB.
    const sent: string[] = [];
    const pending: Array<() => void> = [];
    const reader = core.accept({
      namespace: "default",
      transport: {
        send: (text) => void sent.push(text),
        sendThen: (text, written) => {
          sent.push(text);
          pending.push(written);
        },
        close: (code) => void sent.push(`closed ${code}`),
        bufferedAmount: () => 0,
      },
    });
    reader.receive(
      hello({
        client: "reader-0001",
        resume: { epoch: welcome.epoch, offset: "" },
        subscriptions: [{ id: "s", pattern: "r.*" }],
      }),
    );
    await tick();
    // The first batch (with the welcome) is out; the rest waits for the socket. Live messages
    // meanwhile wait too, and one outside the reader's grants, held during the replay, is never
    // delivered.
    expect(pending).toHaveLength(1);
    const firstWrite = sent.length;
    publish("live", 2);
    publish("secret", 1, "s.x");
    await tick();
    expect(sent).toHaveLength(firstWrite);
    while (pending.length > 0) {
      (pending.shift() as () => void)();
      await tick();
    }
    const frames = sent.flatMap((t) => [JSON.parse(t)].flat());
    for (const text of sent) expect(text.length).toBeLessThan(1000 + 300);
    expect(frames.filter((f) => f.type === "message").map((f) => f.id)).toEqual([
      ...Array.from({ length: 40 }, (_, i) => `m${i}`),
      "live0",
      "live1",
    ]);
    expect(sent.length).toBeGreaterThan(8);
    // A second reader that never reads: its first batch is never written, live data piles up
    // behind the replay and the connection is cut instead of growing memory.
    const stuck: string[] = [];
    const stalled = core.accept({
      namespace: "default",
      transport: {
        send: (text) => void stuck.push(text),
        sendThen: (text) => void stuck.push(text),
        close: (code) => void stuck.push(`closed ${code}`),
        bufferedAmount: () => 0,
      },
    });
    stalled.receive(
      hello({
        client: "stalled-0001",
        resume: { epoch: welcome.epoch, offset: "" },
        subscriptions: [{ id: "s", pattern: "r.*" }],
      }),
    );
    await tick();
    publish("more", 40);
    await tick();
    expect(stuck.at(-1)).toBe(`closed ${CloseCode.SlowConsumer}`);
  });

  it("answers frames pipelined behind a hello after its replay, refusals included, and a snapshot taken mid-replay restores as a 4102", async () => {
    const { core, open } = setup({ limits: { maxBatchBytes: 1000 } });
    const writer = open();
    writer.connection.receive(hello());
    await tick();
    writer.connection.receive(
      JSON.stringify(
        Array.from({ length: 20 }, (_, i) => ({
          type: "publish",
          id: `m${i}`,
          channel: "r.x",
          data: "x".repeat(100),
        })),
      ),
    );
    await tick();
    const { epoch } = writer.frames().find((f) => f.type === "welcome");
    const sent: string[] = [];
    const pending: Array<() => void> = [];
    const snapshots: SessionSnapshot[] = [];
    const transport = {
      send: (text: string) => void sent.push(text),
      sendThen: (text: string, written: () => void) => {
        sent.push(text);
        pending.push(written);
      },
      close: (code: number) => void sent.push(`closed ${code}`),
      bufferedAmount: () => 0,
      persist: (snapshot: SessionSnapshot) => void snapshots.push(snapshot),
    };
    const reader = core.accept({ namespace: "default", transport });
    // One batch: the hello, then a subscribe, a frame of no known type and a ping behind it.
    reader.receive(
      JSON.stringify([
        JSON.parse(
          hello({ resume: { epoch, offset: "" }, subscriptions: [{ id: "s", pattern: "r.*" }] }),
        ),
        { type: "subscribe", id: "t", pattern: "q.*" },
        { type: "nonsense" },
        { type: "ping" },
      ]),
    );
    await tick();
    expect(pending).toHaveLength(1);
    // Taken while the replay is out: a relay that lost its memory now cannot finish it.
    expect(snapshots.at(-1)?.catchingUp).toBe(true);
    const closes: number[] = [];
    const elsewhere = setup().core.restore({
      snapshot: snapshots.at(-1) as SessionSnapshot,
      transport: { ...fakeSocket().transport, close: (code) => void closes.push(code) },
    });
    expect(closes).toEqual([CloseCode.BrokerGap]);
    expect(elsewhere.session).toBe(snapshots.at(-1)?.session);
    while (pending.length > 0) {
      (pending.shift() as () => void)();
      await tick();
    }
    const frames = sent.flatMap((t) => [JSON.parse(t)].flat());
    expect(frames.map((f) => (f.type === "message" ? f.id : f.type))).toEqual([
      "welcome",
      "subscribed",
      ...Array.from({ length: 20 }, (_, i) => `m${i}`),
      "subscribed",
      "error",
      "pong",
    ]);
    expect(frames.find((f) => f.type === "error")?.code).toBe("unknown_type");
    expect(snapshots.at(-1)?.catchingUp).toBeUndefined();
  });

  it("logs refused tokens at most 10 times a second, the next line counting those left out", async () => {
    const lines: Array<Record<string, unknown> | undefined> = [];
    const { core, advance } = setup({
      authenticate: ({ token }) => {
        if (token === "good") return { user: "u" };
        throw new TokenError("signature does not match");
      },
      logger: {
        ...silentLogger,
        info: (message, fields) => void lines.push({ message, ...fields }),
      },
    });
    const socket = fakeSocket();
    const connection = core.accept({ namespace: "default", transport: socket.transport });
    connection.receive(hello({ token: "good" }));
    await tick();
    // One connection refreshing with a bad token in every frame of a batch.
    connection.receive(
      JSON.stringify(Array.from({ length: 50 }, () => ({ type: "refresh", token: "forged" }))),
    );
    await tick();
    expect(socket.frames().filter((f) => f.code === "unauthorized")).toHaveLength(50);
    expect(lines).toHaveLength(10);
    advance(1000);
    connection.receive(JSON.stringify({ type: "refresh", token: "forged" }));
    await tick();
    expect(lines).toHaveLength(11);
    expect(lines.at(-1)).toMatchObject({ message: "token refused", unlogged: 40 });
  });

  // Sessions keep their times as small integers from the process's start when they fit: a
  // clock at the process's time, one far before it, and one past the small integers' range.
  it.each([
    ["at 0", 0],
    ["now", Date.now()],
    ["30 days on", Date.now() + 30 * 86_400_000],
  ])(
    "closes connections that never say hello, and those that fall silent (clock %s)",
    async (_, start) => {
      const { core, open, advance } = setup(
        { limits: { handshakeTimeoutMs: 100, idleTimeoutMs: 1000 } },
        start,
      );
      const mute = open();
      const quiet = open();
      quiet.connection.receive(hello());
      await tick();
      advance(101);
      core.sweep();
      expect(mute.closes[0]?.code).toBe(CloseCode.HandshakeTimeout);
      expect(quiet.closes).toEqual([]);
      advance(1000);
      core.sweep();
      expect(quiet.closes[0]?.code).toBe(CloseCode.IdleTimeout);
      expect(core.stats().connections).toBe(0);
    },
  );

  it("answers a hello in the turn it arrived when nothing has to be waited for", async () => {
    // No token check, a namespace already listened to, a log in memory: the welcome and the
    // subscription's answer are queued before receive returns, and a publish pipelined behind
    // the hello is taken in the same turn. With a token check that waits, the hello waits too,
    // and the order on the wire is the same.
    const flushes: Array<() => void> = [];
    const flushNow = () => {
      for (const flush of flushes.splice(0)) flush();
    };
    for (const authenticate of [undefined, async () => ({})]) {
      const core = createRelayCore({
        broker: createMemoryBroker(),
        scheduleFlush: (flush) => void flushes.push(flush),
        ...(authenticate ? { authenticate } : {}),
      });
      const first = fakeSocket();
      core.accept({ namespace: "default", transport: first.transport }).receive(hello());
      await tick(); // the namespace's broker feed starts
      flushNow();
      expect(first.frames().map((f) => f.type)).toEqual(["welcome"]);
      const peer = fakeSocket();
      core
        .accept({ namespace: "default", transport: peer.transport })
        .receive(
          JSON.stringify([
            JSON.parse(hello({ subscriptions: [{ id: "s", pattern: "a" }] })),
            { type: "publish", id: "m1", channel: "a", data: 1 },
          ]),
        );
      flushNow();
      const atOnce = peer.frames().map((f) => f.type);
      await tick();
      flushNow();
      const later = peer.frames().map((f) => f.type);
      if (authenticate) {
        expect(atOnce).toEqual([]);
        expect(later).toEqual(["welcome", "subscribed", "message", "ack"]);
      } else {
        // The memory broker appends at once: the message and the ack are out in the same turn.
        expect(atOnce).toEqual(["welcome", "subscribed", "message", "ack"]);
        expect(later).toEqual(["welcome", "subscribed", "message", "ack"]);
      }
    }
  });

  it("closes a connection that keeps sending invalid frames past the threshold", async () => {
    const { open } = setup({ limits: { maxViolationsPerMinute: 5 } });
    const peer = open();
    peer.connection.receive(hello());
    await tick();
    for (let i = 0; i < 6; i++) peer.connection.receive("{bad");
    expect(peer.closes[0]?.code).toBe(CloseCode.ProtocolViolation);
  });

  it("answers any number of refused publishes without counting them as violations", async () => {
    // A 3-second broker outage at 100 msg/s, a burst over the bucket, publishes outside the
    // grants and unsubscribes of unknown ids: every one is refused, none ends the connection.
    const broker = createMemoryBroker();
    let down = true;
    const flaky = {
      ...broker,
      publish: (ns: string, input: Parameters<typeof broker.publish>[1]) =>
        down ? Promise.reject(new Error("broker unreachable")) : broker.publish(ns, input),
    };
    const { open, advance } = setup({
      broker: flaky,
      authenticate: () => ({ grants: { subscribe: ["*"], publish: ["ok.*"] } }),
      limits: { maxViolationsPerMinute: 5, publishBurst: 60, publishRatePerSecond: 10 },
    });
    const peer = open();
    peer.connection.receive(hello({ subscriptions: [{ id: "s", pattern: "ok.*" }] }));
    await tick();
    const publish = (id: string, channel = "ok.x") =>
      peer.connection.receive(JSON.stringify({ type: "publish", id, channel, data: id }));
    for (let i = 0; i < 10; i++) publish(`outage-${i}`);
    for (let i = 0; i < 50; i++) publish(`denied-${i}`, "secret.x");
    for (let i = 0; i < 300; i++) publish(`burst-${i}`);
    for (let i = 0; i < 50; i++)
      peer.connection.receive(JSON.stringify({ type: "unsubscribe", id: `nope-${i}` }));
    await tick();
    expect(peer.closes).toEqual([]);
    const codes = peer.frames().flatMap((f) => (f.type === "error" ? [f.code] : []));
    expect(codes.filter((c) => c === "publish_failed")).toHaveLength(10);
    expect(codes.filter((c) => c === "rate_limited")).toHaveLength(300);
    expect(codes.filter((c) => c === "forbidden")).toHaveLength(50);
    expect(codes.filter((c) => c === "unknown_subscription")).toHaveLength(50);
    // The broker is back: a retry with the same id is delivered once.
    down = false;
    advance(1000);
    peer.sent.length = 0;
    publish("outage-0");
    publish("outage-0");
    await tick();
    const frames = peer.frames();
    expect(frames.filter((f) => f.type === "message").map((f) => f.id)).toEqual(["outage-0"]);
    expect(frames.filter((f) => f.type === "ack")).toHaveLength(2);
    // Malformed frames still are violations.
    for (let i = 0; i < 6; i++) peer.connection.receive("{bad");
    expect(peer.closes[0]?.code).toBe(CloseCode.ProtocolViolation);
  });

  it("tells the broker when nobody waits for a publish's answer any more, and answers and logs nothing for it then", async () => {
    // A broker that holds publishes (as a flow-control queue does) and shows who waits for each.
    const broker = createMemoryBroker();
    const held: Array<{ publisher?: Publisher; fail: (error: Error) => void }> = [];
    const holding = {
      ...broker,
      publish: (_ns: string, _input: PublishInput, publisher?: Publisher) =>
        new Promise<never>((_, fail) => void held.push({ publisher, fail })),
    };
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
    const { open } = setup({ broker: holding, logger });
    const peer = open();
    peer.connection.receive(hello());
    await tick();
    for (const id of ["a", "b"])
      peer.connection.receive(JSON.stringify({ type: "publish", id, channel: "c", data: 1 }));
    expect(held.map((h) => h.publisher?.aborted)).toEqual([false, false]);
    held[0]?.fail(new Error("refused"));
    await tick();
    expect(peer.frames().filter((f) => f.type === "error")).toHaveLength(1);
    expect(warnings).toEqual(["publish failed"]);
    peer.connection.closed();
    expect(held[1]?.publisher?.aborted).toBe(true);
    held[1]?.fail(new Error("not sent: its publisher's connection closed while it waited"));
    await tick();
    expect(peer.frames().filter((f) => f.type === "error")).toHaveLength(1);
    expect(warnings).toEqual(["publish failed"]);
  });
});

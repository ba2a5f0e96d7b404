import {
  type ClientOptions,
  type ClientState,
  createClient,
  type Message,
  type PubsubBudClient,
  request,
  serve,
} from "@pubsubbud/client";
import type { MessageFrame } from "@pubsubbud/protocol";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { deliveryDiff, NO_DIFF } from "../helpers/delivery.js";
import { type CutProxy, startCutProxy } from "../helpers/proxy.js";
import { openRaw, type RawPeer, rawClientId } from "../helpers/raw.js";
import { waitFor, waitUntil } from "../helpers/wait.js";
import { type RelayTarget, type TargetFactory, targets } from "./targets.js";

const WINDOW = 500;

describe.each(targets)("conformance: $name", (factory) => {
  describe.skipIf(factory.unavailable)("against the running relay", () => conformance(factory));
});

function conformance(factory: TargetFactory) {
  let relay: RelayTarget;
  const clients: PubsubBudClient[] = [];
  const raws: RawPeer[] = [];
  let nsCounter = 0;
  /** A fresh namespace per test keeps the cases independent on a shared relay. */
  let ns = "";

  beforeAll(async () => {
    relay = await factory.start({ window: WINDOW });
  });
  afterAll(async () => {
    await relay.close();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    for (const raw of raws.splice(0)) raw.close();
    ns = `t${++nsCounter}-${Date.now().toString(36)}`;
  });
  ns = `t0-${Date.now().toString(36)}`;

  const url = (base = relay.wsUrl) => `${base}/ns/${ns}`;
  let spread = 0;
  /** A client on the given relay, or on the next instance in turn. */
  const connect = (base?: string, options: Partial<ClientOptions> = {}): PubsubBudClient => {
    const instance = relay.wsUrls[spread++ % relay.wsUrls.length];
    const client = createClient({
      url: url(base ?? instance),
      WebSocket,
      reconnect: { baseDelayMs: 10, maxDelayMs: 100 },
      ...options,
    });
    clients.push(client);
    return client;
  };
  const raw = async (): Promise<RawPeer> => {
    const peer = await openRaw(url());
    raws.push(peer);
    return peer;
  };
  const collect = (client: PubsubBudClient, pattern: string) => {
    const messages: Message[] = [];
    const sub = client.subscribe(pattern, (m) => void messages.push(m));
    return { messages, sub };
  };
  const states = (client: PubsubBudClient) => {
    const seen: Array<{ state: ClientState; recovered?: boolean }> = [];
    client.addEventListener("state", (e) =>
      seen.push({ state: e.detail.state, recovered: e.detail.recovered }),
    );
    return seen;
  };

  /** A subscriber connected through a cut proxy, recording its states, gaps and messages. */
  const behind = async (proxy: CutProxy, pattern: string) => {
    const subscriber = connect(proxy.url());
    const seen = states(subscriber);
    const gaps: unknown[] = [];
    subscriber.addEventListener("gap", (e) => gaps.push(e.detail));
    const { messages, sub } = collect(subscriber, pattern);
    await sub.ready;
    return { subscriber, seen, gaps, messages };
  };

  it("delivers by fnmatch pattern semantics: *, ?, [seq], [!seq], exact", async () => {
    const sub = connect();
    const cases = {
      star: collect(sub, "sensor.*"),
      one: collect(sub, "room.?"),
      set: collect(sub, "room.[0-9]"),
      notSet: collect(sub, "room.[!0-9]"),
      exact: collect(sub, "a.b"),
      deep: collect(sub, "*.temp"),
    };
    await Promise.all(Object.values(cases).map((c) => c.sub.ready));
    const pub = connect();
    const channels = [
      "sensor.temp",
      "sensor.",
      "sensor",
      "sensor.a.b",
      "room.1",
      "room.x",
      "room.12",
      "a.b",
      "a.bc",
      "x.y.temp",
      "end",
    ];
    for (const channel of channels) await pub.publish(channel, channel);
    await waitFor(() => cases.exact.messages.length === 1 && sub.state === "open", "the end");
    await pub.publish("a.b", "marker");
    await waitFor(() => cases.exact.messages.length === 2, "marker");
    const got = Object.fromEntries(
      Object.entries(cases).map(([k, c]) => [k, c.messages.map((m) => m.channel)]),
    );
    expect(got).toEqual({
      star: ["sensor.temp", "sensor.", "sensor.a.b"],
      one: ["room.1", "room.x"],
      set: ["room.1"],
      notSet: ["room.x"],
      exact: ["a.b", "a.b"],
      deep: ["sensor.temp", "x.y.temp"],
    });
  });

  it("sends a connection each message once when several of its patterns match, and routes it to each", async () => {
    const peer = await raw();
    peer.send({
      type: "hello",
      client: rawClientId("multi"),
      subscriptions: [
        { id: "a", pattern: "news.*" },
        { id: "b", pattern: "news.s*" },
        { id: "c", pattern: "news.sport" },
      ],
    });
    await peer.next((f) => f.type === "subscribed" && f.id === "c", "subscriptions");
    const client = connect();
    const both = [collect(client, "news.*"), collect(client, "*.sport")];
    await Promise.all(both.map((c) => c.sub.ready));
    await connect().publish("news.sport", 1);
    await peer.next((f) => f.type === "message", "message");
    await waitFor(() => both.every((c) => c.messages.length === 1), "client routing");
    await connect().publish("news.sport", 2);
    await waitFor(
      () => peer.frames.filter((f) => f.type === "message").length === 2,
      "second message",
    );
    expect(
      peer.frames.filter((f) => f.type === "message").map((f) => (f as MessageFrame).data),
    ).toEqual([1, 2]);
  });

  it("gives every subscriber the same order, with offsets matching the publishers' acks", async () => {
    const subs = [connect(), connect()].map((c) => collect(c, "order.*"));
    await Promise.all(subs.map((s) => s.sub.ready));
    const [p1, p2] = [connect(), connect()];
    const acks = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? p1 : p2).publish(`order.${i % 3}`, i)),
    );
    await waitFor(() => subs.every((s) => s.messages.length === 100), "100 messages each");
    const [first, second] = subs.map((s) => s.messages.map((m) => m.id));
    // Each publisher's messages in its order on every subscriber; one order for all of them
    // where the broker promises it (RabbitMQ routes each publishing connection on its own).
    const byPublisher = (ids: string[] | undefined, parity: number) =>
      (ids ?? []).filter((id) => acks.findIndex((a) => a.id === id) % 2 === parity);
    for (const parity of [0, 1])
      expect(byPublisher(second, parity)).toEqual(byPublisher(first, parity));
    if (relay.totalOrder) expect(first).toEqual(second);
    expect(new Set(first).size).toBe(100);
    // With a relay-local window (plain MQTT) each instance numbers the messages itself.
    if (!relay.sharedOffsets) return;
    expect(subs[1]?.messages.map((m) => m.offset)).toEqual(subs[0]?.messages.map((m) => m.offset));
    const offsetOf = new Map(acks.map((ack) => [ack.id, ack.offset]));
    for (const m of subs[0]?.messages ?? []) expect(m.offset).toBe(offsetOf.get(m.id));
    expect(new Set(acks.map((a) => a.offset)).size).toBe(100);
  });

  it("delivers 2,000 pipelined publishes of one client to subscribers on every instance once each, in publish order", async () => {
    const gaps = relay.wsUrls.map(() => 0);
    const subs = relay.wsUrls.map((base, i) => {
      const client = connect(base);
      client.addEventListener("gap", () => {
        gaps[i] = (gaps[i] ?? 0) + 1;
      });
      return collect(client, "pipe.*");
    });
    await Promise.all(subs.map((s) => s.sub.ready));
    const publisher = connect(undefined, { maxQueuedPublishes: 2_000 });
    const ids = Array.from({ length: 2_000 }, (_, i) => `p${i}`);
    const answers = await Promise.allSettled(
      ids.map((id, i) => publisher.publish(`pipe.${i % 3}`, i, { id })),
    );
    // A last message after every answer: once it is in, a duplicate would be too.
    await publisher.publish("pipe.end", "end", { id: "end" });
    // Bounded: without it, the diff below says what is missing.
    await waitUntil(() => subs.every((s) => s.messages.some((m) => m.id === "end")), 30_000);
    // A refused publish must not be delivered: it shows as unexpected against the acked log.
    const refused = answers.flatMap((a) => (a.status === "rejected" ? [String(a.reason)] : []));
    const log = [...ids.filter((_, i) => answers[i]?.status === "fulfilled"), "end"];
    expect({
      refused: refused.length ? `${refused.length}: ${refused[0]}` : "none",
      // A burst four times the recovery window (500 here) may outrun an instance's reader of a
      // shared log that trims (Redis, NATS): the loss is then announced by a gap event, as the
      // delivery promise allows, and is the only difference tolerated.
      deliveries: subs.map((s, i) => {
        const diff = deliveryDiff(
          log,
          s.messages.map((m) => m.id),
        );
        return (gaps[i] ?? 0) > 0 ? { ...diff, missing: "none" } : diff;
      }),
    }).toEqual({ refused: "none", deliveries: subs.map(() => NO_DIFF) });
  }, 90_000);

  it("keeps delivering to a client when co-subscribers on its instance drop the identical pattern and channel", async () => {
    const [base] = relay.wsUrls;
    // Each holds the identical pattern and the identical exact channel.
    const both = (client: PubsubBudClient) => [collect(client, "co.*"), collect(client, "co.x")];
    const [stays, leaves, closes] = [connect(base), connect(base), connect(base)];
    const kept = both(stays);
    const dropped = [...both(leaves), ...both(closes)];
    await Promise.all([...kept, ...dropped].map((c) => c.sub.ready));
    const publisher = connect();
    await publisher.publish("co.x", 1);
    await waitFor(() => [...kept, ...dropped].every((c) => c.messages.length === 1), "1 each");
    for (const c of dropped.slice(0, 2)) c.sub.unsubscribe();
    closes.close();
    for (const [channel, data] of [
      ["co.x", 2],
      ["co.y", 3],
      ["co.x", "end"],
    ] as const)
      await publisher.publish(channel, data);
    await waitFor(() => kept[1]?.messages.at(-1)?.data === "end", "the last message");
    const data = (c: { messages: Message[] }) => c.messages.map((m) => m.data);
    expect(kept.map(data)).toEqual([
      [1, 2, 3, "end"],
      [1, 2, "end"],
    ]);
    expect(dropped.map(data)).toEqual([[1], [1], [1], [1]]);
  });

  it("acknowledges a retried publish id again without delivering it twice", async () => {
    const { messages, sub } = collect(connect(), "pay.*");
    await sub.ready;
    const pub = connect();
    const first = await pub.publish("pay.done", { amount: 5 }, { id: "payment-42" });
    const again = await pub.publish("pay.done", { amount: 5 }, { id: "payment-42" });
    await pub.publish("pay.done", "marker");
    await waitFor(() => messages.some((m) => m.data === "marker"), "marker");
    expect(again).toEqual(first);
    expect(messages.filter((m) => m.id === "payment-42")).toHaveLength(1);
  });

  it("carries headers, ids and relay timestamps on delivered messages", async () => {
    const { messages, sub } = collect(connect(), "h.*");
    await sub.ready;
    const before = Date.now();
    const ack = await connect().publish(
      "h.x",
      { n: 1 },
      { headers: { "content-type": "json", n: 2, ok: true, z: null } },
    );
    await waitFor(() => messages.length === 1, "message");
    expect(messages[0]).toMatchObject({
      channel: "h.x",
      id: ack.id,
      ...(relay.sharedOffsets ? { offset: ack.offset } : {}),
      data: { n: 1 },
      headers: { "content-type": "json", n: 2, ok: true, z: null },
    });
    expect(messages[0]?.ts).toBeGreaterThanOrEqual(before - 1000);
  });

  it("answers requests through the private inbox, times out without a responder, and reports responder failures", async () => {
    const server = connect();
    await serve<{ a: number; b: number }>(server, "math.*", (req) => {
      if (req.channel === "math.fail") throw new Error("division by zero");
      return req.data.a + req.data.b;
    }).ready;
    const caller = connect();
    const answer = await request(caller, "math.add", { a: 1, b: 2 }, { timeout: 5000 });
    expect(answer.data).toBe(3);
    await expect(request(caller, "math.fail", { a: 1, b: 0 })).rejects.toMatchObject({
      code: "remote_error",
    });
    await expect(request(caller, "nobody.home", {}, { timeout: 200 })).rejects.toMatchObject({
      code: "request_timeout",
    });
  });

  it("keeps inboxes private: no foreign subscription, no pattern delivery", async () => {
    const owner = connect();
    const spy = connect();
    const everything = collect(spy, "*");
    await everything.sub.ready;
    // The relay names the inbox in welcome, from the owner's secret id.
    await waitFor(() => owner.inbox !== "", "the owner's welcome");
    const stolen = spy.subscribe(owner.inbox, () => {});
    await expect(stolen.ready).rejects.toMatchObject({
      code: "subscribe_refused",
      wireCode: "forbidden",
    });
    const mine = collect(owner, owner.inbox);
    await mine.sub.ready;
    await spy.publish(owner.inbox, "secret");
    await spy.publish("public", "marker");
    await waitFor(
      () => mine.messages.length === 1 && everything.messages.some((m) => m.data === "marker"),
      "delivery",
    );
    expect(everything.messages.map((m) => m.data)).toEqual(["marker"]);
  });

  it("stops delivery after unsubscribe", async () => {
    const client = connect();
    const gone = collect(client, "u.gone");
    const kept = collect(client, "u.kept");
    await Promise.all([gone.sub.ready, kept.sub.ready]);
    const pub = connect();
    await pub.publish("u.gone", 1);
    await waitFor(() => gone.messages.length === 1, "first message");
    gone.sub.unsubscribe();
    await pub.publish("u.gone", 2);
    await pub.publish("u.kept", "marker");
    await waitFor(() => kept.messages.length === 1, "marker");
    expect(gone.messages.map((m) => m.data)).toEqual([1]);
  });

  it("registers hello subscriptions and pipelined frames in order: welcome, subscribed, ack, message", async () => {
    const peer = await raw();
    peer.send({
      type: "hello",
      client: rawClientId("pipe"),
      subscriptions: [{ id: "s", pattern: "pipe.*" }],
    });
    peer.send({ type: "publish", id: "m1", channel: "pipe.x", data: 1 });
    peer.send({ type: "ping" });
    await peer.next((f) => f.type === "ack", "ack");
    await peer.next((f) => f.type === "message", "message");
    await peer.next((f) => f.type === "pong", "pong");
    // pong is a liveness answer outside the session's order: a Durable Object's runtime sends it
    // without waking the object, so it may come before welcome (docs/protocol.md, ping).
    const types = peer.frames.map((f) => f.type).filter((type) => type !== "pong");
    expect(types.slice(0, 2)).toEqual(["welcome", "subscribed"]);
    expect(types.indexOf("message")).toBeGreaterThan(1);
    expect(types.indexOf("ack")).toBeGreaterThan(1);
    expect(peer.frames.find((f) => f.type === "welcome")).toMatchObject({
      type: "welcome",
      offset: "",
      heartbeat: expect.any(Number),
    });
  });

  it("answers bad frames with their documented codes and keeps the connection working", async () => {
    const peer = await raw();
    peer.send({ type: "hello", client: rawClientId("bad") });
    await peer.next((f) => f.type === "welcome", "welcome");
    const cases: Array<[unknown, string, string | undefined]> = [
      ["{not json", "bad_frame", undefined],
      [{ type: "launch", id: "x1" }, "unknown_type", "x1"],
      [
        `{"type":"publish","id":"big","channel":"a","data":"${"x".repeat(70_000)}"}`,
        "frame_too_large",
        undefined,
      ],
      [{ type: "subscribe", id: "p1", pattern: "?".repeat(17) }, "bad_pattern", "p1"],
      [{ type: "subscribe", id: "p2", pattern: "a b" }, "bad_pattern", "p2"],
      [{ type: "publish", id: "c1", channel: "with*star", data: 1 }, "bad_channel", "c1"],
      [{ type: "publish", id: "c2" }, "bad_frame", "c2"],
      [{ type: "unsubscribe", id: "nope" }, "unknown_subscription", "nope"],
      [{ type: "hello", client: rawClientId("again") }, "hello_required", undefined],
      [
        `{"type":"publish","id":"d","channel":"a","data":${"[".repeat(64)}${"]".repeat(64)}}`,
        "too_deep",
        undefined,
      ],
    ];
    for (const [frame, code, id] of cases) {
      const from = peer.frames.length;
      peer.send(frame);
      const error = await peer.next((f) => f.type === "error", `error ${code}`, from);
      expect(error).toMatchObject({ type: "error", code, ...(id ? { id } : {}) });
      expect((error as { message: string }).message.length).toBeGreaterThan(5);
    }
    const from = peer.frames.length;
    peer.send({ type: "publish", id: "ok1", channel: "still.fine", data: true });
    await expect(peer.next((f) => f.type === "ack", "ack", from)).resolves.toMatchObject({
      id: "ok1",
    });
  });

  it("closes a connection whose first frame is not hello, with the no-reconnect code", async () => {
    const peer = await raw();
    peer.send({ type: "subscribe", id: "s", pattern: "a" });
    await expect(peer.closed).resolves.toMatchObject({ code: 4400 });
    expect(peer.frames[0]).toMatchObject({ type: "error", code: "hello_required" });
  });

  it("recovers every message exactly once, in order, after a TCP cut inside the recovery window", async () => {
    await using proxy = await startCutProxy(relay.port);
    const { subscriber, seen, gaps, messages } = await behind(proxy, "feed.*");
    const publisher = connect();
    const sent: string[] = [];
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++)
        sent.push((await publisher.publish(`feed.${i % 4}`, sent.length)).id);
    };
    await publish(40);
    await waitFor(() => messages.length === 40, "40 before the cut");
    proxy.cut();
    await waitFor(() => subscriber.state !== "open", "the client to notice the cut");
    await publish(150);
    proxy.restore();
    await publish(30);
    await waitFor(() => messages.length >= 220, "all 220 messages");
    await publisher.publish("feed.end", "end");
    await waitFor(() => messages.some((m) => m.data === "end"), "end marker");
    expect(messages.slice(0, -1).map((m) => m.id)).toEqual(sent);
    expect(gaps).toEqual([]);
    expect(seen.filter((s) => s.state === "open").at(-1)).toEqual({
      state: "open",
      recovered: true,
    });
  });

  it("reports recovered:false and a gap event after a cut longer than the recovery window", async () => {
    await using proxy = await startCutProxy(relay.port);
    const { subscriber, seen, gaps, messages } = await behind(proxy, "flood.*");
    // A client of the instance behind the proxy. On two instances the flood reaches that
    // instance through the broker after the publisher's acks: the subscriber resumes there only
    // once it has read the flood to its end (a relay-local window must hold all of it), or has
    // fallen behind a shared log's trim (reported as a gap; the resume reads the log itself).
    const observer = connect(relay.wsUrls[0]);
    const observerGaps: unknown[] = [];
    observer.addEventListener("gap", (e) => observerGaps.push(e.detail));
    const { messages: observed, sub: observing } = collect(observer, "flood.*");
    await observing.ready;
    const publisher = connect();
    await publisher.publish("flood.a", "before");
    await waitFor(() => messages.length === 1, "first message");
    proxy.cut();
    await waitFor(() => subscriber.state !== "open", "the client to notice the cut");
    await Promise.all(
      Array.from({ length: WINDOW + 100 }, (_, i) => publisher.publish("flood.a", i)),
    );
    await waitFor(
      () => observerGaps.length > 0 || observed.some((m) => m.data === WINDOW + 99),
      "the instance to read the flood",
    );
    proxy.restore();
    await waitFor(() => gaps.length === 1, "the gap event");
    expect(seen.filter((s) => s.state === "open").at(-1)).toEqual({
      state: "open",
      recovered: false,
    });
    await publisher.publish("flood.a", "after");
    await waitFor(() => messages.some((m) => m.data === "after"), "live delivery after the gap");
    expect(messages.map((m) => m.data)).toEqual(["before", "after"]);
  });

  it("publishes over HTTP to WebSocket subscribers and serves health and metrics", async () => {
    const { messages, sub } = collect(connect(), "http.*");
    await sub.ready;
    const response = await fetch(`${relay.httpUrl}/v1/ns/${ns}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        channel: "http.in",
        data: { from: "curl" },
        headers: { trace: "t1" },
      }),
    });
    expect(response.status).toBe(200);
    const ack = (await response.json()) as { id: string; offset: string };
    await waitFor(() => messages.length === 1, "HTTP-published message");
    expect(messages[0]).toMatchObject({
      channel: "http.in",
      id: ack.id,
      ...(relay.sharedOffsets ? { offset: ack.offset } : {}),
      headers: { trace: "t1" },
    });
    const bad = await fetch(`${relay.httpUrl}/v1/ns/${ns}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"channel":"a b","data":1}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "bad_channel" });
    const health = await fetch(`${relay.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    if (!relay.metrics) return;
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^pubsubbud_connections \d+$/m);
    expect(metrics).toMatch(/^pubsubbud_messages_published_total [1-9]\d*$/m);
  });
}

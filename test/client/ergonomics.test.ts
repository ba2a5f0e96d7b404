/**
 * Async iteration, AbortSignal and `using`, through a real relay-node: `messages()` is a bounded
 * `for await` source, signals cancel loops, requests, subscriptions and the client
 * (`disposeOnAbort`), and disposables unsubscribe.
 */
import {
  type ClientError,
  createClient,
  disposeOnAbort,
  type Message,
  messages,
  type PubsubBudClient,
  request,
  serve,
} from "@pubsubbud/client";
import { type RunningRelay, startRelay } from "@pubsubbud/relay-node";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { waitFor } from "../helpers/wait.js";

let relay: RunningRelay;
const clients: PubsubBudClient[] = [];
beforeAll(async () => {
  relay = await startRelay({ port: 0 });
});
afterAll(() => relay.close());
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
const connect = (options: Partial<Parameters<typeof createClient>[0]> = {}) => {
  const client = createClient({ url: relay.wsUrl, WebSocket, ...options });
  clients.push(client);
  return client;
};
/** Subscriptions the relay holds in a namespace. */
const subscriptions = (namespace: string) =>
  relay.core.stats().namespaces.find((n) => n.name === namespace)?.subscriptions ?? 0;
const published = () => relay.core.stats().counters.published;

/** Publishes `count` messages on `channel` and waits until `witness` saw them all. */
async function publishSeen(client: PubsubBudClient, channel: string, count: number) {
  const seen: Message[] = [];
  const witness = client.subscribe(channel, (m) => void seen.push(m));
  await witness.ready;
  for (let n = 0; n < count; n++) await client.publish(channel, n);
  await waitFor(() => seen.length === count, `${count} messages`);
  witness.unsubscribe();
}

describe("client ergonomics", () => {
  it("iterates messages() in order and unsubscribes on break", async () => {
    const client = connect({ url: `${relay.wsUrl}/ns/iterate` });
    const sub = messages<number>(client, "it.*");
    await sub.ready;
    expect(subscriptions("iterate")).toBe(1);
    for (let n = 0; n < 5; n++) await client.publish(`it.${n}`, n);
    const got: number[] = [];
    for await (const message of sub) {
      got.push(message.data);
      if (got.length === 3) break;
    }
    expect(got).toEqual([0, 1, 2]);
    // Leaving the loop unsubscribed at the relay too.
    await waitFor(() => subscriptions("iterate") === 0, "unsubscribe");
  });

  it("holds at most bufferSize messages for a loop that falls behind, then throws slow_consumer", async () => {
    const client = connect();
    const sub = messages(client, "slow.x", { bufferSize: 3 });
    await sub.ready;
    await publishSeen(client, "slow.x", 5);
    const got: unknown[] = [];
    const loop = (async () => {
      for await (const message of sub) got.push(message.data);
    })();
    await expect(loop).rejects.toMatchObject({ code: "slow_consumer" });
    // Everything held is delivered before the error; nothing after the overflow.
    expect(got).toEqual([0, 1, 2]);
  });

  it("ends a loop quietly when the client closes, and with the refusal when the relay refuses", async () => {
    const client = connect();
    const sub = messages(client, "end.x");
    await sub.ready;
    const loop = (async () => {
      for await (const _ of sub) return "message";
      return "ended";
    })();
    client.close();
    await expect(loop).resolves.toBe("ended");
    const refused = (async () => {
      for await (const _ of messages(connect(), "bad pattern")) return "message";
    })();
    await expect(refused).rejects.toMatchObject({ code: "subscribe_refused" });
  });

  it("unsubscribes when the loop's signal aborts, ending the loop with aborted", async () => {
    const client = connect({ url: `${relay.wsUrl}/ns/abort` });
    const controller = new AbortController();
    const sub = messages(client, "ab.x", { signal: controller.signal });
    await sub.ready;
    const loop = (async () => {
      for await (const _ of sub) return "message";
    })();
    controller.abort(new Error("user left"));
    await expect(loop).rejects.toMatchObject({
      code: "aborted",
      cause: new Error("user left"),
    });
    await waitFor(() => subscriptions("abort") === 0, "unsubscribe");
    // An already aborted signal ends the loop at once, and nothing is subscribed.
    const late = messages(client, "ab.y", { signal: controller.signal });
    await expect(late.ready).rejects.toMatchObject({ code: "closed" });
    await expect(late[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "aborted" });
  });

  it("unsubscribes a handler's subscription when disposeOnAbort's signal aborts", async () => {
    const client = connect({ url: `${relay.wsUrl}/ns/dispose` });
    const controller = new AbortController();
    const sub = client.subscribe("ab.z", () => {});
    disposeOnAbort(controller.signal, sub);
    await sub.ready;
    expect(subscriptions("dispose")).toBe(1);
    controller.abort();
    await waitFor(() => subscriptions("dispose") === 0, "unsubscribe");
  });

  it("takes its listener off a long-lived signal when the loop's subscription ends otherwise", async () => {
    const client = connect();
    const { signal } = new AbortController();
    const added = vi.spyOn(signal, "addEventListener");
    const removed = vi.spyOn(signal, "removeEventListener");
    for (let n = 0; n < 3; n++) {
      const sub = messages(client, `many.${n}`, { signal });
      await sub.ready;
      sub.unsubscribe();
    }
    expect(added).toHaveBeenCalledTimes(3);
    expect(removed.mock.calls.map((call) => call[1])).toEqual(
      added.mock.calls.map((call) => call[1]),
    );
  });

  it("aborts a request: it rejects with aborted and the late reply is dropped", async () => {
    const responder = connect();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let answered = 0;
    await serve(responder, "slow.rpc", async () => {
      await held;
      answered++;
      return "late";
    }).ready;
    const caller = connect();
    const controller = new AbortController();
    const before = published();
    const pending = request(caller, "slow.rpc", null, { signal: controller.signal });
    await waitFor(() => published() > before, "the request published");
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "aborted" });
    release();
    await waitFor(() => answered === 1, "the responder answered");
    // The client still works, and a new request gets its own answer.
    const fresh = request(caller, "slow.rpc", null);
    await expect(fresh).resolves.toMatchObject({ data: "late" });
    // A signal aborted before the call sends nothing.
    const sent = published();
    await expect(
      request(caller, "slow.rpc", null, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: "aborted" });
    expect(published()).toBe(sent);
  });

  it("closes the client when disposeOnAbort's signal aborts", async () => {
    const controller = new AbortController();
    const client = connect();
    disposeOnAbort(controller.signal, client);
    await client.publish("sig.x", 1);
    controller.abort();
    expect(client.state).toBe("closed");
    await expect(client.publish("sig.x", 2)).rejects.toMatchObject({ code: "closed" });
  });

  it("unsubscribes a subscription and closes a client at the end of a using block", async () => {
    const client = connect();
    const disposed: Message[] = [];
    const kept: Message[] = [];
    await client.subscribe("keep.x", (m) => void kept.push(m)).ready;
    {
      using sub = client.subscribe("gone.x", (m) => void disposed.push(m));
      await sub.ready;
    }
    await client.publish("gone.x", 1);
    await client.publish("keep.x", 2);
    // Deliveries keep publish order: once keep.x arrived, gone.x would have arrived before it.
    await waitFor(() => kept.length === 1, "keep.x");
    expect(disposed).toEqual([]);
    let closed: PubsubBudClient;
    {
      using scoped = connect();
      closed = scoped;
      await scoped.publish("keep.x", 3);
    }
    expect(closed.state).toBe("closed");
  });

  it("rejects requests still waiting when the client closes", async () => {
    const caller = connect();
    const before = published();
    const pending = request(caller, "nobody.home", null, { timeout: 60_000 });
    await waitFor(() => published() > before, "the request published");
    caller.close();
    await expect(pending).rejects.toMatchObject({ code: "closed" } satisfies Partial<ClientError>);
  });
});

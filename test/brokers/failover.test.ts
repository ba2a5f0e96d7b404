/**
 * A client whose connection moves to another relay instance (a load balancer after a cut)
 * resumes there: without loss or duplicates where the broker shares the log, with
 * `recovered:false` and a gap event where it does not (MQTT's relay-local window).
 */
import { createClient, type Message } from "@pubsubbud/client";
import { type RunningRelay, startRelay } from "@pubsubbud/relay-node";
import WebSocket from "ws";
import { afterAll, describe, expect, it } from "vitest";
import { startCutProxy } from "../helpers/proxy.js";
import { waitFor } from "../helpers/wait.js";
import { sharedBrokerKinds } from "./kinds.js";

describe.each(sharedBrokerKinds)("resume on another instance: $name", (kind) => {
  describe.skipIf(kind.unavailable)("two relays on one broker", () => {
    const relays: RunningRelay[] = [];
    afterAll(async () => {
      await Promise.all(relays.map((relay) => relay.close(1000)));
    });

    it("replays exactly the missed messages with recovered:true on a shared log, else reports recovered:false and a gap, then delivers live", async () => {
      for (let i = 0; i < 2; i++)
        relays.push(await startRelay({ port: 0, broker: await kind.create() }));
      const [one, two] = relays as [RunningRelay, RunningRelay];
      const ns = `fo${Date.now().toString(36)}`;
      await using proxy = await startCutProxy(one.port);
      const subscriber = createClient({
        url: proxy.url(`/ns/${ns}`),
        WebSocket,
        reconnect: { baseDelayMs: 10, maxDelayMs: 100 },
      });
      const publisher = createClient({ url: `${two.wsUrl}/ns/${ns}`, WebSocket });
      const received: Message[] = [];
      const recovered: Array<boolean | undefined> = [];
      let gaps = 0;
      subscriber.addEventListener("gap", () => void gaps++);
      subscriber.addEventListener("state", (e) => {
        if (e.detail.state === "open") recovered.push(e.detail.recovered);
      });
      await subscriber.subscribe("feed.*", (m) => void received.push(m)).ready;
      const sent: string[] = [];
      const publish = async (n: number) => {
        for (let i = 0; i < n; i++)
          sent.push((await publisher.publish(`feed.${i % 3}`, sent.length)).id);
      };
      await publish(20);
      await waitFor(() => received.length === 20, "20 before the move");
      proxy.cut();
      await waitFor(() => subscriber.state !== "open", "the subscriber to notice the cut");
      proxy.retarget(two.port);
      await publish(30);
      proxy.restore();
      await waitFor(() => recovered.length === 2, "the subscriber to reopen on instance two");
      await publish(10);
      const last = sent.at(-1);
      await waitFor(() => received.some((m) => m.id === last), "the last message");
      subscriber.close();
      publisher.close();
      if (one.core.broker.capabilities.sharedHistory) {
        expect(received.map((m) => m.id)).toEqual(sent);
        expect(recovered).toEqual([undefined, true]);
        expect(gaps).toBe(0);
      } else {
        expect(recovered).toEqual([undefined, false]);
        expect(gaps).toBe(1);
        expect(received.map((m) => m.id)).toEqual([...sent.slice(0, 20), ...sent.slice(50)]);
      }
    });
  });
});

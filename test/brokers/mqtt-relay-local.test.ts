/**
 * MQTT's relay-local windows against the real Mosquitto on :1883, which runs its default
 * configuration (max_queued_messages 1000, max_inflight_messages 20): the shared cases, plus
 * overflowing a subscriber relay's session on purpose (every loss must reach the subscriber as a
 * gap event where it happened), a relay's own copies dropped by its session, and the start-up
 * probe that measures the queue limit. A private Mosquitto with the settings docs/operations.md
 * recommends shows the same load without loss.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { createClient, type PubsubBudClient } from "@pubsubbud/client";
import type { Broker } from "@pubsubbud/relay-core";
import { type RunningRelay, startRelay } from "@pubsubbud/relay-node";
import { createMqttBroker } from "@pubsubbud/relay-node/brokers/mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { commandExists } from "../helpers/commands.js";
import { missing } from "../helpers/requirements.js";
import { reachable, services, tempDir, untilReachable } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";
import { audit, type Published, type Seen, settled, summary } from "./feed-audit.js";
import { describeRelayLocal } from "./relay-local-cases.js";

const up = await reachable(services.mqtt.port);
const unavailable = () => missing(`mqtt on 127.0.0.1:${services.mqtt.port}`, up, services.mqtt.fix);

describeRelayLocal({
  name: "mqtt",
  port: services.mqtt.port,
  get unavailable() {
    return unavailable();
  },
  create: ({ port = services.mqtt.port, fragile = false } = {}) =>
    createMqttBroker({
      url: `mqtt://127.0.0.1:${port}`,
      probeMessages: 0,
      ...(fragile ? { sessionExpirySeconds: 0 } : {}),
    }),
});

/**
 * A TCP path to the server that can stop forwarding both ways and start again: a relay that stops
 * reading for a while (a long GC pause, an overloaded event loop). Bytes pass untouched.
 */
async function pausableLink(port: number) {
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => client.write(chunk));
    for (const socket of pair) {
      socket.on("error", () => {});
      socket.on("close", () => {
        client.destroy();
        upstream.destroy();
        pairs.delete(pair);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    pause: () => {
      for (const pair of pairs) for (const socket of pair) socket.pause();
    },
    resume: () => {
      for (const pair of pairs) for (const socket of pair) socket.resume();
    },
    close: async () => {
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A private Mosquitto with the settings docs/operations.md recommends for the relay. */
const RECOMMENDED_PORT = 11_884;
function recommendedMosquitto(): { start(): Promise<void>; stop(): Promise<void> } {
  let child: ChildProcess | undefined;
  return {
    async start() {
      const config = join(tempDir("mosquitto"), "mosquitto.conf");
      writeFileSync(
        config,
        [
          `listener ${RECOMMENDED_PORT} 127.0.0.1`,
          "allow_anonymous true",
          "max_queued_messages 0",
          "",
        ].join("\n"),
      );
      child = spawn("mosquitto", ["-c", config], { stdio: "ignore" });
      await untilReachable(RECOMMENDED_PORT, "the private mosquitto");
    },
    async stop() {
      const dying = child;
      if (!dying || dying.exitCode !== null || dying.signalCode !== null) return;
      const exited = new Promise((resolve) => dying.once("exit", resolve));
      dying.kill("SIGKILL");
      await exited;
    },
  };
}

describe.skipIf(
  unavailable() || missing("mosquitto", commandExists("mosquitto"), "install mosquitto"),
)("MQTT server limits", () => {
  const recommended = recommendedMosquitto();
  const relays: RunningRelay[] = [];
  const brokers: Broker[] = [];
  const clients: PubsubBudClient[] = [];
  const links: Array<{ close(): Promise<void> }> = [];
  beforeAll(() => recommended.start());
  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(relays.map((relay) => relay.close(1000)));
    await Promise.all(brokers.map((broker) => broker.close()));
    await Promise.all(links.map((link) => link.close()));
    await recommended.stop();
  });

  /**
   * Two instances each send 3,000 messages at once while the subscriber's relay is not reading
   * its connection to the server: the server holds what it can for that relay's session and,
   * past its queue limit, drops the rest.
   */
  const overload = async (port: number) => {
    const url = `mqtt://127.0.0.1:${port}`;
    const senders = await Promise.all(
      [0, 1].map(() => createMqttBroker({ url, probeMessages: 0 })),
    );
    brokers.push(...senders);
    const link = await pausableLink(port);
    links.push(link);
    const relay = await startRelay({
      port: 0,
      broker: await createMqttBroker({ url: `mqtt://127.0.0.1:${link.port}`, probeMessages: 0 }),
    });
    relays.push(relay);
    const ns = `load${Date.now().toString(36)}${port}`;
    const subscriber = createClient({
      url: `${relay.wsUrl}/ns/${ns}`,
      WebSocket,
      reconnect: { baseDelayMs: 20, maxDelayMs: 200 },
    });
    clients.push(subscriber);
    const seen: Seen[] = [];
    subscriber.addEventListener("gap", () => void seen.push("gap"));
    await subscriber.subscribe(
      "load.*",
      (m) => void seen.push({ key: `${m.headers?.sender}:${m.id}` }),
    ).ready;
    link.pause();
    const log: Published[] = [];
    const publish = (k: number, id: string, data: unknown) =>
      senders[k]?.publish(ns, { channel: "load.x", id, data, headers: { sender: `dev${k}` } });
    await Promise.all(
      senders.flatMap((_, k) =>
        Array.from({ length: 3_000 }, (_, i) => {
          const entry: Published = {
            key: `dev${k}:p${i}`,
            stream: `dev${k}`,
            index: i,
            first: "other",
          };
          log.push(entry);
          const sent = publish(k, `p${i}`, i);
          return (async () => {
            entry.first = await settled(sent, (error) =>
              (error as Error).name === "PublishUncertainError" ? "uncertain" : "failed",
            );
          })();
        }),
      ),
    );
    link.resume();
    // A later message of each stream reveals any hole before it; repeat until one arrives.
    for (const k of [0, 1])
      for (let attempt = 0; ; attempt++) {
        await publish(k, `flush${attempt}`, "flush");
        const arrived = () => seen.some((s) => s !== "gap" && s.key === `dev${k}:flush${attempt}`);
        const done = await waitFor(arrived, "a flush marker", 1_000).then(
          () => true,
          () => attempt >= 60,
        );
        if (done) break;
      }
    return audit(log, seen);
  };

  it("reports every message an overflowing session drops on default Mosquitto as a gap event where it happened, and drops none with the recommended settings", async () => {
    const defaults = await overload(services.mqtt.port);
    process.stderr.write(`mqtt overload report (default settings): ${summary(defaults)}\n`);
    expect(
      {
        duplicated: defaults.duplicated,
        reordered: defaults.reordered,
        uncovered: defaults.uncovered.slice(0, 10),
      },
      summary(defaults),
    ).toEqual({ duplicated: 0, reordered: 0, uncovered: [] });
    const tuned = await overload(RECOMMENDED_PORT);
    process.stderr.write(`mqtt overload report (max_queued_messages 0): ${summary(tuned)}\n`);
    expect(
      { lost: tuned.lost, gaps: tuned.gaps, duplicated: tuned.duplicated },
      summary(tuned),
    ).toEqual({ lost: 0, gaps: 0, duplicated: 0 });
  }, 120_000);

  it("answers publish_uncertain, never publish_failed, when the server drops a relay's own copies, and delivers a retry through the other instance once", async () => {
    // Unpaced, as a relay was before it waited for its own copies: 2,000 at once overflow the
    // server's queue for the publishing relay's own session (the case reported in issue 14).
    const url = `mqtt://127.0.0.1:${services.mqtt.port}`;
    const one = await createMqttBroker({ url, probeMessages: 0, maxPublishesInFlight: 1_000_000 });
    const two = await createMqttBroker({ url, probeMessages: 0 });
    brokers.push(one, two);
    const ns = `own${Date.now().toString(36)}`;
    const seen = [[], []] as Seen[][];
    await Promise.all(
      [one, two].map((broker, k) =>
        broker.listen(ns, {
          message: (m) => void seen[k]?.push({ key: `${m.headers?.sender}:${m.id}` }),
          gap: () => void seen[k]?.push("gap"),
        }),
      ),
    );
    const input = (id: string) => ({ channel: "own", id, data: id, headers: { sender: "dev" } });
    const classify = (error: unknown) =>
      (error as Error).name === "PublishUncertainError" ? "uncertain" : "failed";
    const log: Published[] = Array.from({ length: 2_000 }, (_, i) => ({
      key: `dev:m${i}`,
      stream: "one",
      index: i,
      first: "other",
    }));
    await Promise.all(
      log.map(async (p, i) => {
        p.first = await settled(one.publish(ns, input(`m${i}`)), classify);
      }),
    );
    await Promise.all(
      log
        .filter((p) => p.first === "uncertain")
        .map(async (p) => {
          p.retried = await settled(two.publish(ns, input(p.key.slice(4))), classify);
        }),
    );
    for (const [k, broker] of [one, two].entries())
      for (let attempt = 0; ; attempt++) {
        await settled(broker.publish(ns, input(`flush${k}-${attempt}`)), () => "failed");
        const arrived = () =>
          seen.every((events) =>
            events.some((s) => s !== "gap" && s.key === `dev:flush${k}-${attempt}`),
          );
        if (
          await waitFor(arrived, "a flush marker", 1_000).then(
            () => true,
            () => attempt >= 60,
          )
        )
          break;
      }
    for (const [k, events] of seen.entries()) {
      const report = audit(log, events);
      process.stderr.write(
        `mqtt own-copies report (listener on instance ${k + 1}): ${summary(report)}\n`,
      );
      expect(
        {
          failed: report.failed,
          duplicated: report.duplicated,
          uncovered: report.uncovered.slice(0, 10),
          failedDelivered: report.failedDelivered.slice(0, 10),
        },
        summary(report),
      ).toEqual({ failed: 0, duplicated: 0, uncovered: [], failedDelivered: [] });
    }
  }, 120_000);

  it("measures the server's per-session queue at start and warns when it is Mosquitto's default", async () => {
    const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
    const probed = async (port: number) => {
      const broker = await createMqttBroker({
        url: `mqtt://127.0.0.1:${port}`,
        log: (level, message, fields) =>
          void lines.push({ level, message, ...(fields ? { fields } : {}) }),
      });
      brokers.push(broker);
      await waitFor(
        () => lines.some((l) => l.fields?.sent !== undefined),
        "the probe's result",
        30_000,
      );
      return lines.splice(0).find((l) => l.fields?.sent !== undefined);
    };
    const limited = await probed(services.mqtt.port);
    expect(limited?.level).toBe("warn");
    expect(limited?.fields?.queued).toBeLessThan(limited?.fields?.sent as number);
    expect(limited?.message).toMatch(/max_queued_messages/);
    const unlimited = await probed(RECOMMENDED_PORT);
    expect(unlimited).toMatchObject({ level: "info", fields: { queued: 1_100, sent: 1_100 } });
  }, 60_000);
});

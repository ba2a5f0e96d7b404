/**
 * The live feed of one NATS namespace on the real server (127.0.0.1:4222, JetStream): it hands on
 * the stream's messages in order, reports a jump in sequence (messages the stream's limits removed
 * before the follower read them) as one gap, and a restarted follower goes on where the old one
 * stopped, without a gap or a repeat.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { DEFAULT_RETENTION, type LogMessage } from "@pubsubbud/relay-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { NatsFollower } from "./nats-follower.js";
import { NatsLog } from "./nats-log.js";
import { streamName } from "./nats-mapping.js";

let nc: NatsConnection;
let log: NatsLog;
const namespaces: string[] = [];
let counter = 0;

beforeAll(async () => {
  nc = await connect({ servers: "127.0.0.1:4222" });
  const retention = { ...DEFAULT_RETENTION, maxMessages: 3 };
  log = new NatsLog(jetstream(nc), await jetstreamManager(nc), "pubsubbud-test", retention);
});
afterAll(async () => {
  const jsm = await jetstreamManager(nc);
  for (const ns of namespaces) await jsm.streams.delete(streamName(ns)).catch(() => {});
  await nc.close();
});

function follow(start?: number) {
  const ns = `follow${Date.now().toString(36)}-${++counter}`;
  namespaces.push(ns);
  const seen: { messages: LogMessage[]; gaps: number } = { messages: [], gaps: 0 };
  const options = {
    log,
    namespace: ns,
    message: (message: LogMessage) => void seen.messages.push(message),
    gap: () => void seen.gaps++,
    ended: (error: unknown) => {
      throw error;
    },
  };
  const started = () =>
    start === undefined ? NatsFollower.fromEnd(options) : NatsFollower.start(options, start);
  return { ns, seen, started };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const publish = (ns: string, n: number) =>
  log.publish(ns, { channel: "sensor.temp", id: `m${n}`, data: n });

it("reports messages the stream's limits removed before it read them as one gap, then goes on", async () => {
  const { ns, seen, started } = follow(1);
  for (let n = 1; n <= 6; n++) await publish(ns, n); // the stream keeps 4, 5 and 6
  const follower = await started();
  await until(() => seen.messages.length === 3, "the three messages the stream kept");
  follower.stop();
  expect(seen.gaps).toBe(1);
  expect(seen.messages.map((m) => [m.offset, m.data])).toEqual([
    ["4", 4],
    ["5", 5],
    ["6", 6],
  ]);
  expect(follower.next).toBe(7);
});

it("restarts where it stopped: no gap, no repeat", async () => {
  const { ns, seen, started } = follow();
  await publish(ns, 1); // before the follower: not its to deliver
  const first = await started();
  await publish(ns, 2);
  await until(() => seen.messages.length === 1, "the message after the start");
  const second = await first.restart();
  await publish(ns, 3);
  await until(() => seen.messages.length === 2, "the message after the restart");
  second.stop();
  expect(seen.messages.map((m) => m.data)).toEqual([2, 3]);
  expect(seen.gaps).toBe(0);
});

/**
 * The NATS broker: channels map to core subjects, and a JetStream stream per namespace is the
 * namespace log (shared history, dedupe by `Nats-Msg-Id`). See docs/brokers.md.
 *
 * Mapping: channel `sensor.temp` in namespace `ns` is subject `pubsubbud.ns.sensor.temp`; the
 * payload is the JSON data; headers are NATS headers, the id is `Nats-Msg-Id`. A plain
 * `nats pub pubsubbud.ns.sensor.temp '{"c":21}'` is captured by the stream and reaches `sensor.*`;
 * `nats sub 'pubsubbud.ns.>'` sees client publishes. Stream `PUBSUBBUD_<ns>` (dots in the
 * namespace written `_2E`, underscores `_5F`).
 */
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { Position } from "@pubsubbud/protocol";
import { channelError, DEFAULT_LIMITS } from "@pubsubbud/protocol";
import {
  type BrokerListener,
  compareDecimalOffsets,
  dedupeKey,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type StopListening,
  type GroupBroker,
} from "@pubsubbud/relay-core";
import { getOrCreate } from "@pubsubbud/relay-core/internal";
import {
  type BrokerCommonOptions,
  checkUrl,
  decodeData,
  encodeData,
  firstConnect,
  headersFromPairs,
  headersToPairs,
  Listeners,
  percentDecode,
  percentEncode,
  retentionOf,
} from "./shared.js";

/** Options of {@link createNatsBroker}. */
export interface NatsBrokerOptions extends BrokerCommonOptions {
  /** `nats://[user:password@]host:4222[,host2:4222]`. */
  url: string;
  /** First subject token(s). @default "pubsubbud" */
  prefix?: string;
  /** @default 5000 */
  connectTimeoutMs?: number;
}

/** JetStream's dedupe header: it carries the sender-scoped {@link dedupeKey}. */
const MSG_ID = "Nats-Msg-Id";
/** The message id itself (a foreign producer's `Nats-Msg-Id` serves when it is absent). */
const ID = "pubsubbud-id";
const NS_PER_MS = 1_000_000;

/** A channel as subject tokens: `.` separates tokens; what NATS forbids in a token is %-encoded. */
export function channelToSubject(channel: string): string {
  const unsafe = /[%*> \t\r\n\0]/g;
  return channel
    .split(".")
    .map((token) => (token === "" ? "%" : percentEncode(token, unsafe)))
    .join(".");
}

export function subjectToChannel(tokens: string): string {
  return tokens
    .split(".")
    .map((token) => (token === "%" ? "" : percentDecode(token, /%([0-9A-F]{2})/g)))
    .join(".");
}

const streamName = (ns: string) => `PUBSUBBUD_${ns.replace(/_/g, "_5F").replace(/\./g, "_2E")}`;

/**
 * Connects to NATS (JetStream enabled) and returns the broker.
 * @example const broker = await createNatsBroker({ url: "nats://127.0.0.1:4222" })
 */
export async function createNatsBroker(options: NatsBrokerOptions): Promise<GroupBroker> {
  const { url, prefix = "pubsubbud", connectTimeoutMs = 5_000 } = options;
  checkUrl(url, "nats://host:4222");
  const retention = retentionOf(options);
  const log = options.log ?? (() => {});
  const parsed = new URL(url);
  const nc: NatsConnection = await firstConnect(
    url,
    connectTimeoutMs,
    connect({
      servers: parsed.host.split(","),
      ...(parsed.username
        ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) }
        : {}),
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 500,
      timeout: connectTimeoutMs,
    }),
    "that nats-server runs there with JetStream enabled (-js)",
  );
  let healthy = true;
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const js: JetStreamClient = jetstream(nc);
  const listeners = new Listeners();
  const streams = new Map<string, Promise<string>>();
  const live = new Map<string, { stop: () => void; next: () => number }>();
  let closed = false;

  const subjectOf = (ns: string, channel: string) => `${prefix}.${ns}.${channelToSubject(channel)}`;

  /** The namespace's stream, created with the retention and dedupe windows on first use. */
  const streamOf = (ns: string): Promise<string> => {
    const pending = getOrCreate(streams, ns, async () => {
      const name = streamName(ns);
      const config = {
        name,
        subjects: [`${prefix}.${ns}.>`],
        max_msgs: retention.maxMessages,
        max_age: retention.maxAgeMs * NS_PER_MS,
        duplicate_window: retention.dedupeWindowMs * NS_PER_MS,
      };
      try {
        await jsm.streams.info(name);
      } catch {
        await jsm.streams.add(config).catch(async (error) => {
          if (!/already in use|exists/i.test(String(error))) throw error;
        });
      }
      return name;
    });
    pending.catch(() => streams.delete(ns));
    return pending;
  };

  const toMessage = (ns: string, m: JsMsg): LogMessage | undefined => {
    const channel = subjectToChannel(m.subject.slice(prefix.length + ns.length + 2));
    if (channelError(channel, DEFAULT_LIMITS)) return undefined;
    const pairs: Array<[string, string]> = [];
    let id: string | undefined;
    let msgId: string | undefined;
    for (const [name, values] of m.headers ?? []) {
      const value = values.at(-1) ?? "";
      if (name === ID) id = value;
      else if (name === MSG_ID) msgId = value;
      else pairs.push([name, value]);
    }
    const message: LogMessage = {
      channel,
      id: id ?? msgId ?? `nats-${m.seq}`,
      data: decodeData(new TextDecoder().decode(m.data)),
      ts: Math.floor(Number(m.info.timestampNanos) / NS_PER_MS),
      offset: String(m.seq),
    };
    const headers = headersFromPairs(pairs);
    if (headers) message.headers = headers;
    return message;
  };

  const state = async (ns: string) => (await jsm.streams.info(await streamOf(ns))).state;

  /** Follows the stream from `start` with an ordered consumer; a jump in sequence is a gap. */
  const follow = async (ns: string, start: number) => {
    let expected = start;
    let stopped = false;
    const consumer = await js.consumers.get(await streamOf(ns), {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
    });
    // Short pull expiry, so a stalled pull is noticed (and replaced) within seconds.
    const messages = await consumer.consume({ expires: 5_000 });
    live.set(ns, {
      stop: () => {
        stopped = true;
        void messages.close();
      },
      next: () => expected,
    });
    void (async () => {
      for await (const m of messages) {
        if (stopped) break;
        if (m.seq > expected) {
          log("warn", "nats stream moved past this relay's position", { namespace: ns });
          listeners.gap(ns);
        }
        expected = m.seq + 1;
        const message = toMessage(ns, m);
        if (message) listeners.message(ns, message);
      }
    })().catch((error) =>
      log("warn", "nats consumer ended", { namespace: ns, error: String(error) }),
    );
  };

  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        healthy = false;
        log("warn", "nats connection lost", {});
      } else if (status.type === "reconnect") {
        healthy = true;
        log("info", "nats reconnected", {});
        // Pull requests died with the connection: follow again from where each feed was.
        for (const [ns, follower] of live) {
          follower.stop();
          follow(ns, follower.next()).catch((error) =>
            log("warn", "nats consumer restart failed", { namespace: ns, error: String(error) }),
          );
        }
      }
    }
  })();

  const groups = new Set<{ close(): Promise<unknown> }>();
  const broker: GroupBroker = {
    name: "nats",
    capabilities: { sharedHistory: true, totalOrder: true },
    async publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
      await streamOf(namespace);
      const h = natsHeaders();
      h.append(ID, input.id);
      for (const [name, value] of headersToPairs(input.headers))
        if (name !== ID && name !== MSG_ID) h.append(name, value);
      const ack = await js.publish(subjectOf(namespace, input.channel), encodeData(input.data), {
        msgID: dedupeKey(input),
        headers: h,
      });
      return { offset: String(ack.seq), duplicate: ack.duplicate };
    },
    async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
      if (listeners.add(namespace, listener)) {
        try {
          await follow(namespace, (await state(namespace)).last_seq + 1);
        } catch (error) {
          listeners.remove(namespace, listener);
          throw error;
        }
      }
      return async () => {
        if (!listeners.remove(namespace, listener)) return;
        live.get(namespace)?.stop();
        live.delete(namespace);
      };
    },
    async head(namespace: string): Promise<Position> {
      const name = await streamOf(namespace);
      const info = await jsm.streams.info(name);
      return {
        epoch: info.created,
        offset: info.state.last_seq === 0 ? "" : String(info.state.last_seq),
      };
    },
    async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
      const name = await streamOf(namespace);
      const info = await jsm.streams.info(name);
      if (info.created !== position.epoch || !/^\d*$/.test(position.offset)) return undefined;
      const after = Number(position.offset || "0");
      const { first_seq: first, last_seq: last } = info.state;
      if (after > last) return undefined;
      if (after === last) return [];
      // Everything after the position must still be in the stream.
      if (first > after + 1) return undefined;
      const consumer = await js.consumers.get(name, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: after + 1,
      });
      const out: LogMessage[] = [];
      const batch = await consumer.consume();
      for await (const m of batch) {
        const message = toMessage(namespace, m);
        if (message) out.push(message);
        if (m.seq >= last) break;
      }
      await batch.close();
      const oldest = Date.now() - retention.maxAgeMs;
      if (out.some((m) => m.ts < oldest)) return undefined;
      return out;
    },
    compareOffsets: compareDecimalOffsets,
    healthy: () => healthy && !closed && !nc.isClosed(),
    // A JetStream durable consumer per group: members share it, acks move its floor. A member
    // tells the server it is still working on a message every 3 s, so the ack wait can stay short
    // (10 s): a message handed to a member that stopped (a pull request still open on the server)
    // goes to another member within that time.
    groups: {
      namedMembers: false,
      async consume(namespace, group, _member, handle) {
        const name = await streamOf(namespace);
        await jsm.consumers.add(name, {
          durable_name: group,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New,
          ack_wait: 10_000 * NS_PER_MS,
        });
        const consumer = await js.consumers.get(name, group);
        const messages = await consumer.consume({ expires: 2_000, max_messages: 10 });
        groups.add(messages);
        void (async () => {
          for await (const m of messages) {
            const message = toMessage(namespace, m);
            const working = setInterval(() => m.working(), 3_000);
            try {
              if (message) await handle(message);
              m.ack();
            } catch {
              m.nak();
            } finally {
              clearInterval(working);
            }
          }
        })().catch(() => {});
        return async () => {
          groups.delete(messages);
          await messages.close().catch(() => {});
        };
      },
    },
    async close() {
      closed = true;
      for (const group of groups) await group.close().catch(() => {});
      for (const follower of live.values()) follower.stop();
      live.clear();
      listeners.clear();
      await nc.drain().catch(() => nc.close());
    },
  };
  return broker;
}

/**
 * The NATS broker's namespace logs: one JetStream stream per namespace, created on first use with
 * the retention and dedupe windows, and what a relay asks of it (publish, head, replay). The epoch
 * is the stream's creation time, so a recreated stream is a new log.
 */
import {
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type StreamInfo,
} from "@nats-io/jetstream";
import type { Position } from "@pubsubbud/protocol";
import {
  dedupeKey,
  type LogMessage,
  type LogRetention,
  type PublishInput,
  type PublishOutcome,
} from "@pubsubbud/relay-core";
import { getOrCreate } from "@pubsubbud/relay-core/internal";
import { channelToSubject, headersOf, messageOf, NS_PER_MS, streamName } from "./nats-mapping.js";
import { encodeData } from "./shared.js";

export class NatsLog {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly #prefix: string;
  readonly #retention: LogRetention;
  /** Each namespace's stream name, once it exists. */
  readonly #streams = new Map<string, Promise<string>>();

  constructor(js: JetStreamClient, jsm: JetStreamManager, prefix: string, retention: LogRetention) {
    this.js = js;
    this.jsm = jsm;
    this.#prefix = prefix;
    this.#retention = retention;
  }

  /** What precedes a channel's subject tokens in a namespace: `<prefix>.<ns>.`. */
  subjectPrefix(ns: string): string {
    return `${this.#prefix}.${ns}.`;
  }

  /** The namespace's stream, created with the retention and dedupe windows on first use. */
  stream(ns: string): Promise<string> {
    const pending = getOrCreate(this.#streams, ns, async () => {
      const name = streamName(ns);
      const retention = this.#retention;
      const config = {
        name,
        subjects: [`${this.subjectPrefix(ns)}>`],
        max_msgs: retention.maxMessages,
        max_age: retention.maxAgeMs * NS_PER_MS,
        duplicate_window: retention.dedupeWindowMs * NS_PER_MS,
      };
      try {
        await this.jsm.streams.info(name);
      } catch {
        await this.jsm.streams.add(config).catch(async (error) => {
          if (!/already in use|exists/i.test(String(error))) throw error;
        });
      }
      return name;
    });
    pending.catch(() => this.#streams.delete(ns));
    return pending;
  }

  async info(ns: string): Promise<StreamInfo> {
    return this.jsm.streams.info(await this.stream(ns));
  }

  /** Appends to the stream; JetStream recognises a dedupe key seen inside its window. */
  async publish(ns: string, input: PublishInput): Promise<PublishOutcome> {
    await this.stream(ns);
    const subject = `${this.subjectPrefix(ns)}${channelToSubject(input.channel)}`;
    const ack = await this.js.publish(subject, encodeData(input.data), {
      msgID: dedupeKey(input),
      headers: headersOf(input),
    });
    return { offset: String(ack.seq), duplicate: ack.duplicate };
  }

  async head(ns: string): Promise<Position> {
    const info = await this.info(ns);
    return {
      epoch: info.created,
      offset: info.state.last_seq === 0 ? "" : String(info.state.last_seq),
    };
  }

  /** The messages after `position`, or undefined when the stream no longer holds all of them. */
  async since(ns: string, position: Position): Promise<LogMessage[] | undefined> {
    const name = await this.stream(ns);
    const info = await this.jsm.streams.info(name);
    if (info.created !== position.epoch || !/^\d*$/.test(position.offset)) return undefined;
    const after = Number(position.offset || "0");
    const { first_seq: first, last_seq: last } = info.state;
    if (after > last) return undefined;
    if (after === last) return [];
    // Everything after the position must still be in the stream.
    if (first > after + 1) return undefined;
    const consumer = await this.js.consumers.get(name, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
    });
    const out: LogMessage[] = [];
    const batch = await consumer.consume();
    const subjectPrefix = this.subjectPrefix(ns);
    for await (const m of batch) {
      const message = messageOf(subjectPrefix, m);
      if (message) out.push(message);
      if (m.seq >= last) break;
    }
    await batch.close();
    const oldest = Date.now() - this.#retention.maxAgeMs;
    if (out.some((m) => m.ts < oldest)) return undefined;
    return out;
  }
}

/**
 * The live feed of one namespace on NATS: an ordered JetStream consumer on the namespace's stream,
 * started at a sequence, that hands each message on in stream order. It knows the sequence it
 * expects next, so a jump (messages removed by the stream's limits before the relay read them) is
 * reported as a gap, and a follower whose pull requests died with the connection is replaced by
 * one that starts where it stopped ({@link NatsFollower.restart}).
 */
import { DeliverPolicy } from "@nats-io/jetstream";
import type { LogMessage } from "@pubsubbud/relay-core";
import type { NatsLog } from "./nats-log.js";
import { messageOf } from "./nats-mapping.js";

export interface NatsFollowerOptions {
  log: NatsLog;
  namespace: string;
  message(message: LogMessage): void;
  /** The stream moved past the follower's position: what was between is lost to it. */
  gap(): void;
  /** The consumer ended with an error (the next reconnect restarts it). */
  ended(error: unknown): void;
}

export class NatsFollower {
  readonly #options: NatsFollowerOptions;
  /** The sequence the next message should have. */
  #expected: number;
  #stop: (() => void) | undefined;
  #stopped = false;

  private constructor(options: NatsFollowerOptions, start: number) {
    this.#options = options;
    this.#expected = start;
  }

  /** Follows the stream from `start` (a sequence); resolves once the consumer runs. */
  static async start(options: NatsFollowerOptions, start: number): Promise<NatsFollower> {
    const follower = new NatsFollower(options, start);
    await follower.#consume();
    return follower;
  }

  /** Follows from after the stream's newest message. */
  static async fromEnd(options: NatsFollowerOptions): Promise<NatsFollower> {
    const { state } = await options.log.info(options.namespace);
    return NatsFollower.start(options, state.last_seq + 1);
  }

  /** The sequence the follower expects next. */
  get next(): number {
    return this.#expected;
  }

  async #consume(): Promise<void> {
    const { log, namespace } = this.#options;
    const consumer = await log.js.consumers.get(await log.stream(namespace), {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.#expected,
    });
    // Short pull expiry, so a stalled pull is noticed (and replaced) within seconds.
    const messages = await consumer.consume({ expires: 5_000 });
    this.#stop = () => void messages.close();
    const subjectPrefix = log.subjectPrefix(namespace);
    void (async () => {
      for await (const m of messages) {
        if (this.#stopped) break;
        if (m.seq > this.#expected) this.#options.gap();
        this.#expected = m.seq + 1;
        const message = messageOf(subjectPrefix, m);
        if (message) this.#options.message(message);
      }
    })().catch((error) => this.#options.ended(error));
  }

  /** A follower of the same namespace that starts where this one stopped. */
  restart(): Promise<NatsFollower> {
    this.stop();
    return NatsFollower.start(this.#options, this.#expected);
  }

  stop(): void {
    this.#stopped = true;
    this.#stop?.();
  }
}

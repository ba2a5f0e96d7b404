/**
 * The Redis broker's namespace logs: a stream per namespace, and what the scripts of
 * redis-scripts.ts do to it in one atomic step each — append with dedupe, the log's state (epoch,
 * newest id, whether entries after a position are still there), head and replay.
 */
import type { Position } from "@pubsubbud/protocol";
import {
  dedupeKey,
  type LogMessage,
  type LogRetention,
  type PublishInput,
  type PublishOutcome,
  PublishUncertainError,
} from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { type Redis, ReplyError } from "ioredis";
import { compareStreamIds, toMessage } from "./redis-mapping.js";
import type { Cursor } from "./redis-reader.js";
import type { LogState, Scripts } from "./redis-scripts.js";
import { encodeData } from "./shared.js";

export class RedisLog {
  readonly #main: Redis & Scripts;
  readonly #prefix: string;
  readonly #retention: LogRetention;

  /** `main` has the scripts defined (see defineScripts); commands go through it. */
  constructor(main: Redis & Scripts, prefix: string, retention: LogRetention) {
    this.#main = main;
    this.#prefix = prefix;
    this.#retention = retention;
  }

  /** The namespace's stream; its other keys are `<stream>:<suffix>`. */
  key(ns: string): string {
    return `${this.#prefix}${ns}`;
  }

  /**
   * The log's state, its epoch made on first use; with `read`, also the entries after
   * `position`, read in the same step.
   */
  state(ns: string, position = "", read = false): Promise<LogState> {
    const key = this.key(ns);
    return this.#main.pubsubbudState(
      key,
      `${key}:epoch`,
      `${key}:n`,
      randomId(12),
      position,
      read ? "1" : "0",
    );
  }

  /** Where a reader starting after `last` stands now, and whether nothing after it was trimmed. */
  async cursor(ns: string, last: string): Promise<{ cursor: Cursor; intact: boolean }> {
    const [epoch, now, intact, , appends] = await this.state(ns, last);
    return { cursor: { last: now, epoch, appends }, intact: intact === 1 };
  }

  async publish(ns: string, input: PublishInput): Promise<PublishOutcome> {
    const key = this.key(ns);
    const retention = this.#retention;
    // Sent on a ready connection, a command that then fails without Redis's own answer (the
    // connection died with it in flight) may have run: the retry with the same id settles it.
    const sent = this.#main.status === "ready";
    const [offset, duplicate] = await this.#main
      .pubsubbudPublish(
        key,
        `${key}:seen:${dedupeKey(input)}`,
        `${key}:epoch`,
        `${key}:n`,
        input.id,
        input.channel,
        encodeData(input.data),
        input.headers === undefined ? "" : JSON.stringify(input.headers),
        randomId(12),
        retention.maxMessages,
        retention.maxAgeMs,
        retention.dedupeWindowMs,
      )
      .catch((error: unknown) => {
        if (!sent || error instanceof ReplyError) throw error;
        throw new PublishUncertainError(
          "the connection to Redis ended with the publish in flight",
          { cause: error },
        );
      });
    return { offset, duplicate: duplicate === 1 };
  }

  async head(ns: string): Promise<Position> {
    const [epoch, last] = await this.state(ns);
    return { epoch, offset: last };
  }

  /** The messages after `position`, or undefined when some of them are gone (or it is unknown). */
  async since(ns: string, position: Position): Promise<LogMessage[] | undefined> {
    const [epoch, last, intact, entries] = await this.state(ns, position.offset, true);
    if (epoch !== position.epoch || intact !== 1) return undefined;
    if (compareStreamIds(position.offset, last) > 0) return undefined;
    return entries.map(toMessage).filter((m): m is LogMessage => m !== undefined);
  }
}

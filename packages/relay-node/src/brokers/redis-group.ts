/**
 * One member of a Redis durable group (a stream consumer group), as a small class whose state is
 * in view: its own blocking connection, whether it was stopped, and the loop that claims what a
 * dead member left pending, reads new entries, hands each to `handle` and acknowledges it.
 */
import type { LogMessage } from "@pubsubbud/relay-core";
import type { Redis } from "ioredis";
import { backoffDelay } from "./shared.js";

/** A stream entry as Redis returns it: its id and its field/value list. */
export type StreamEntry = [id: string, fields: string[]];

/** What a member works with. */
export interface RedisGroupMemberOptions {
  /** The broker's main connection: it unblocks the member's read when the member stops. */
  main: Redis;
  /** The member's own connection, connected (its reads block). */
  reader: Redis;
  key: string;
  group: string;
  consumer: string;
  /** The message of a stream entry, or undefined for an entry that is not one. */
  decode(entry: StreamEntry): LogMessage | undefined;
  handle(message: LogMessage): Promise<void>;
}

/** Entries pending longer than this with a member are claimed by another. */
const CLAIM_IDLE_MS = "30000";

export class RedisGroupMember {
  #stopped = false;
  readonly #options: RedisGroupMemberOptions;
  readonly #readerClient: number;
  readonly #loop: Promise<void>;

  private constructor(options: RedisGroupMemberOptions, readerClient: number) {
    this.#options = options;
    this.#readerClient = readerClient;
    this.#loop = this.#run();
  }

  /** Creates the group if it is new (from the stream's end) and starts a member in it. */
  static async join(options: RedisGroupMemberOptions): Promise<RedisGroupMember> {
    const { main, reader, key, group } = options;
    await main.call("XGROUP", "CREATE", key, group, "$", "MKSTREAM").catch((error) => {
      if (!String(error).includes("BUSYGROUP")) throw error;
    });
    return new RedisGroupMember(options, Number(await reader.call("CLIENT", "ID")));
  }

  async #run(): Promise<void> {
    for (let attempt = 0; !this.#stopped; ) {
      try {
        await this.#turn();
        attempt = 0;
      } catch {
        if (!this.#stopped) await new Promise((r) => setTimeout(r, backoffDelay(attempt++)));
      }
    }
  }

  /** Claims what a dead member left pending, then reads (blocking up to 2 s) what is new. */
  async #turn(): Promise<void> {
    const { reader, key, group, consumer } = this.#options;
    const claimed = (await reader.call(
      "XAUTOCLAIM",
      key,
      group,
      consumer,
      CLAIM_IDLE_MS,
      "0-0",
      "COUNT",
      "10",
    )) as [string, StreamEntry[]];
    await this.#work(claimed[1] ?? []);
    if (this.#stopped) return;
    const reply = (await reader.call(
      "XREADGROUP",
      "GROUP",
      group,
      consumer,
      "COUNT",
      "10",
      "BLOCK",
      "2000",
      "STREAMS",
      key,
      ">",
    )) as Array<[string, StreamEntry[]]> | null;
    // Entries read are handled and acknowledged even when stopping, so none is stranded.
    for (const [, entries] of reply ?? []) await this.#work(entries);
  }

  async #work(entries: StreamEntry[]): Promise<void> {
    const { reader, key, group, decode, handle } = this.#options;
    for (const entry of entries) {
      const message = decode(entry);
      try {
        if (message) await handle(message);
        await reader.call("XACK", key, group, entry[0]);
      } catch {
        // left pending: claimed by a member after 30 s and delivered again
      }
    }
  }

  /** Ends the blocking read cleanly, lets the member finish what it read, then disconnects. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#options.main.call("CLIENT", "UNBLOCK", String(this.#readerClient)).catch(() => {});
    await this.#loop;
    this.#options.reader.disconnect();
  }
}

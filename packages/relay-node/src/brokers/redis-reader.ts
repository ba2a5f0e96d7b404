/**
 * The Redis broker's live reader, as one class whose state is in view: a cursor per listened
 * namespace (the stream id read up to, the epoch seen when listening began, and the count of relay
 * appends read up to), and one loop that reads every listened stream with a blocking XREAD on its
 * own connection. An entry whose append count skips ahead was trimmed unread: a gap. After the
 * connection came back, a changed epoch or entries trimmed past a cursor are a gap too.
 */
import type { LogMessage } from "@pubsubbud/relay-core";
import type { Redis } from "ioredis";
import type { StreamEntry } from "./redis-group.js";
import { type BrokerCommonOptions, backoffDelay } from "./shared.js";

/** Where a reader stands in one namespace's stream. */
export interface Cursor {
  last: string;
  epoch: string;
  appends: number;
}

export interface StreamReaderOptions {
  /** The reader's own connection (its reads block). */
  reader: Redis;
  /** The broker's main connection: it interrupts the reader's blocking read. */
  main: Redis;
  /** The stream key of a namespace; `key.slice(prefix.length)` is the namespace. */
  streamKey(ns: string): string;
  prefix: string;
  /** The namespace's cursor now, and whether every entry after `last` is still there. */
  state(ns: string, last: string): Promise<{ cursor: Cursor; intact: boolean }>;
  /** The message of a stream entry, or undefined for an entry that is not one. */
  decode(entry: StreamEntry): LogMessage | undefined;
  /** The `n` of a relay's append, or undefined for a foreign producer's entry. */
  appendsOf(entry: StreamEntry): number | undefined;
  message(ns: string, message: LogMessage): void;
  gap(ns: string): void;
  log: NonNullable<BrokerCommonOptions["log"]>;
}

export class StreamReader {
  readonly #options: StreamReaderOptions;
  readonly #cursors = new Map<string, Cursor>();
  #closed = false;
  /** The reader connection's client id, for CLIENT UNBLOCK (asked again after a reconnect). */
  #readerId: number | undefined;
  /** True while an XREAD is pending. */
  #blocked = false;
  /** Set by a reconnect: cursors are checked before the next read. */
  #reconnected = false;
  /** Wakes the loop when it waits for a first namespace. */
  #wake: (() => void) | undefined;
  /** Ends the pending XREAD when the reader's connection drops (ioredis may keep it pending). */
  #abortRead: ((error: Error) => void) | undefined;

  constructor(options: StreamReaderOptions) {
    this.#options = options;
    options.reader.on("ready", () => {
      this.#readerId = undefined;
      this.#reconnected = true;
    });
    options.reader.on("close", () => this.#abortRead?.(new Error("redis reader connection lost")));
    void this.#loop();
  }

  /** Starts reading a namespace from `cursor`. */
  add(ns: string, cursor: Cursor): void {
    this.#cursors.set(ns, cursor);
    void this.#interrupt();
  }

  remove(ns: string): void {
    this.#cursors.delete(ns);
    void this.#interrupt();
  }

  namespaces(): IterableIterator<string> {
    return this.#cursors.keys();
  }

  close(): void {
    this.#closed = true;
    this.#cursors.clear();
    this.#wake?.();
  }

  /**
   * Interrupts the blocking XREAD so the loop picks up a changed set of namespaces. The UNBLOCK
   * can overtake the XREAD it means to end (two connections), so it is repeated until it lands;
   * the XREAD's own 2 s block is the last resort.
   */
  async #interrupt(): Promise<void> {
    this.#wake?.();
    for (let attempt = 0; attempt < 50 && this.#blocked && !this.#closed; attempt++) {
      if (this.#readerId !== undefined) {
        const done = await this.#options.main
          .call("CLIENT", "UNBLOCK", String(this.#readerId))
          .catch(() => 0);
        if (done === 1) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** After a reconnect: a changed epoch or entries trimmed past the cursor mean a gap. */
  async #verify(): Promise<void> {
    for (const [ns, cursor] of this.#cursors) {
      const now = await this.#options.state(ns, cursor.last);
      if (now.cursor.epoch === cursor.epoch && now.intact) continue;
      this.#options.log("warn", "redis log changed while disconnected", { namespace: ns });
      this.#cursors.set(ns, now.cursor);
      this.#options.gap(ns);
    }
  }

  async #loop(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      try {
        if (this.#cursors.size === 0) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          this.#wake = undefined;
          continue;
        }
        if (this.#reconnected) {
          // Cleared only once the check went through: the main connection may not be back yet
          // (its own reconnect), and reading on from the old cursors would hide a reset log.
          await this.#verify();
          this.#reconnected = false;
          continue; // a gap may have ended the namespace's sessions and its cursor
        }
        this.#deliver(await this.#read());
        attempt = 0;
      } catch (error) {
        this.#blocked = false;
        if (this.#closed) return;
        this.#options.log("warn", "redis read failed; retrying", { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt++)));
      }
    }
  }

  /** One blocking XREAD of every listened stream after its cursor (up to 2 s). */
  async #read(): Promise<Array<[string, StreamEntry[]]> | null> {
    const { reader, streamKey } = this.#options;
    // Not queued for a connection still coming back: its cursors are checked first (#verify).
    if (reader.status !== "ready") throw new Error("redis reader connection not ready");
    this.#readerId ??= Number(await reader.call("CLIENT", "ID"));
    const cursors = [...this.#cursors];
    this.#blocked = true;
    const read = reader.call(
      "XREAD",
      "COUNT",
      "1000",
      "BLOCK",
      "2000",
      "STREAMS",
      ...cursors.map(([ns]) => streamKey(ns)),
      ...cursors.map(([, cursor]) => cursor.last || "0-0"),
    );
    read.catch(() => {});
    const reply = (await Promise.race([
      read,
      new Promise<never>((_, reject) => {
        this.#abortRead = reject;
      }),
    ])) as Array<[string, StreamEntry[]]> | null;
    this.#abortRead = undefined;
    this.#blocked = false;
    return reply;
  }

  #deliver(reply: Array<[string, StreamEntry[]]> | null): void {
    const { prefix, appendsOf, decode } = this.#options;
    for (const [key, entries] of reply ?? []) {
      const ns = key.slice(prefix.length);
      const cursor = this.#cursors.get(ns);
      if (!cursor) continue;
      for (const entry of entries) {
        cursor.last = entry[0];
        const appends = appendsOf(entry);
        if (appends !== undefined) {
          // The live reader fell behind the trim: entries it never read are gone.
          if (appends > cursor.appends + 1) {
            this.#options.log("warn", "redis trimmed entries before this relay read them", {
              namespace: ns,
            });
            this.#options.gap(ns);
          }
          cursor.appends = Math.max(cursor.appends, appends);
        }
        const message = decode(entry);
        if (message) this.#options.message(ns, message);
      }
    }
  }
}

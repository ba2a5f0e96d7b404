/**
 * The live feed of the namespaces a PostgreSQL broker listens to: on each wake (a NOTIFY, a
 * reconnect) it reads the rows after the last one it handed out, in log order, one read at a time
 * per namespace, and reports a gap when retention removed rows it had not read yet.
 */
import type { LogMessage } from "@pubsubbud/relay-core";
import type { Listeners } from "./shared.js";

/** The messages after `after` (oldest first, at most `limit`) and the namespace's trim point. */
export type ReadAfter = (
  namespace: string,
  after: bigint,
  limit: number,
) => Promise<{ messages: LogMessage[]; trimmed: bigint }>;

/** Options of {@link LiveFeed}. */
export interface LiveFeedOptions {
  /** Rows per read; a full page is followed by another read. @default 1000 */
  pageSize?: number;
  /** A failed read is tried again after this long, in ms. @default 250 */
  retryMs?: number;
  /** Told of every read's result, for health and logs. */
  onRead?: (namespace: string, error?: unknown) => void;
}

/** Where a listened namespace's feed stands: a fresh object per listen, so stale reads can tell. */
interface Cursor {
  seq: bigint;
}

/** Per-namespace cursors over the log, moved by reads that hand new rows to the listeners. */
export class LiveFeed {
  readonly #cursors = new Map<string, Cursor>();
  readonly #reading = new Map<string, Promise<void>>();
  readonly #read: ReadAfter;
  readonly #listeners: Listeners;
  readonly #pageSize: number;
  readonly #retryMs: number;
  readonly #onRead: (namespace: string, error?: unknown) => void;

  constructor(read: ReadAfter, listeners: Listeners, options: LiveFeedOptions = {}) {
    this.#read = read;
    this.#listeners = listeners;
    this.#pageSize = options.pageSize ?? 1000;
    this.#retryMs = options.retryMs ?? 250;
    this.#onRead = options.onRead ?? (() => {});
  }

  /** Starts the namespace's feed after `seq`: rows above it reach the listeners. */
  start(namespace: string, seq: bigint): void {
    this.#cursors.set(namespace, { seq });
  }

  /** Ends the namespace's feed; a read still in flight delivers nothing. */
  stop(namespace: string): void {
    this.#cursors.delete(namespace);
  }

  has(namespace: string): boolean {
    return this.#cursors.has(namespace);
  }

  /** Wakes every feed (after a reconnect: rows may have arrived meanwhile). */
  wakeAll(): void {
    for (const namespace of this.#cursors.keys()) void this.wake(namespace);
  }

  clear(): void {
    this.#cursors.clear();
  }

  /** Reads the namespace's new rows after the reads already queued, and hands them out in order. */
  wake(namespace: string): Promise<void> {
    const previous = this.#reading.get(namespace) ?? Promise.resolve();
    const settled = previous
      .then(() => this.#readOnce(namespace))
      .catch((error: unknown) => {
        this.#onRead(namespace, error);
        // No wake may follow (the rows were the last ones), so a failed read (a pool timeout
        // under load, a dropped connection) is retried until it succeeds or the feed stops.
        const cursor = this.#cursors.get(namespace);
        setTimeout(() => {
          if (cursor !== undefined && this.#cursors.get(namespace) === cursor)
            void this.wake(namespace);
        }, this.#retryMs).unref();
      });
    this.#reading.set(namespace, settled);
    void settled.then(() => {
      if (this.#reading.get(namespace) === settled) this.#reading.delete(namespace);
    });
    return settled;
  }

  async #readOnce(namespace: string): Promise<void> {
    const cursor = this.#cursors.get(namespace);
    if (cursor === undefined) return;
    const { messages, trimmed } = await this.#read(namespace, cursor.seq, this.#pageSize);
    this.#onRead(namespace);
    if (this.#cursors.get(namespace) !== cursor) return;
    if (trimmed > cursor.seq) {
      // Retention removed rows this feed never handed out: say so instead of skipping them.
      cursor.seq = trimmed;
      this.#listeners.gap(namespace);
    }
    for (const message of messages) {
      if (this.#cursors.get(namespace) !== cursor) return;
      cursor.seq = BigInt(message.offset);
      this.#listeners.message(namespace, message);
    }
    if (messages.length === this.#pageSize) void this.wake(namespace);
  }
}

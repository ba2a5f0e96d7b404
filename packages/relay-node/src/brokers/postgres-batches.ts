/**
 * Keeps the call order of appends per namespace: the relay hands a connection's pipelined
 * publishes to the broker in order without awaiting them, so each namespace has one queue, and
 * one batch at a time leaves it (the queued appends together, in one transaction). Namespaces
 * write in parallel.
 */
import { type Publisher, PublishUncertainError } from "@pubsubbud/relay-core";
import { PUBLISHER_GONE } from "./shared.js";

/** Writes one batch, in order, all or nothing; rejects with PublishUncertainError when it cannot tell. */
export type WriteBatch<T, R> = (namespace: string, batch: readonly T[]) => Promise<R[]>;

/** Options of {@link OrderedBatches}. */
export interface OrderedBatchesOptions {
  /** Most appends in one batch. @default 100 */
  maxBatch?: number;
  /**
   * Whether a failed batch may have failed for one of its items only (the server refused a
   * statement): its items are then written one by one, so the others still land. A lost
   * connection is not: splitting would only fail each item again. @default never
   */
  split?: (error: unknown) => boolean;
}

interface Queued<T, R> {
  item: T;
  publisher: Publisher | undefined;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/** Per-namespace queues of appends, drained in call order one batch at a time. */
export class OrderedBatches<T, R> {
  readonly #queues = new Map<string, Queued<T, R>[]>();
  readonly #write: WriteBatch<T, R>;
  readonly #maxBatch: number;
  readonly #split: (error: unknown) => boolean;

  constructor(write: WriteBatch<T, R>, options: OrderedBatchesOptions = {}) {
    this.#write = write;
    this.#maxBatch = options.maxBatch ?? 100;
    this.#split = options.split ?? (() => false);
  }

  /**
   * Queues `item` behind the namespace's earlier appends; resolves once its batch is written.
   * Rejects unsent when `publisher.aborted` by the time its batch is made.
   */
  add(namespace: string, item: T, publisher?: Publisher): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queued = { item, publisher, resolve, reject };
      const queue = this.#queues.get(namespace);
      if (queue) queue.push(queued);
      else {
        const fresh = [queued];
        this.#queues.set(namespace, fresh);
        void this.#drain(namespace, fresh);
      }
    });
  }

  async #drain(namespace: string, queue: Queued<T, R>[]): Promise<void> {
    // One microtask first: the frames of one socket read arrive in the same turn and share a batch.
    await undefined;
    for (let batch = this.#head(queue); batch.length > 0; batch = this.#head(queue))
      await this.#settle(namespace, batch, queue);
    // Checked and removed in one turn, so an append either joined this queue or starts a new one.
    this.#queues.delete(namespace);
  }

  /** The next batch: the queue's first appends, once those nobody waits for are dropped from it. */
  #head(queue: Queued<T, R>[]): Queued<T, R>[] {
    let i = 0;
    while (i < queue.length && i < this.#maxBatch) {
      const queued = queue[i] as Queued<T, R>;
      if (!queued.publisher?.aborted) i++;
      else {
        queue.splice(i, 1);
        queued.reject(new Error(PUBLISHER_GONE));
      }
    }
    return queue.slice(0, i);
  }

  /** Writes `batch` (the head of `queue`), settles its appends, and takes them off the queue. */
  async #settle(namespace: string, batch: Queued<T, R>[], queue: Queued<T, R>[]): Promise<void> {
    try {
      const results = await this.#write(
        namespace,
        batch.map((queued) => queued.item),
      );
      batch.forEach((queued, i) => {
        queued.resolve(results[i] as R);
      });
      queue.splice(0, batch.length);
    } catch (error) {
      if (batch.length > 1 && !(error instanceof PublishUncertainError) && this.#split(error)) {
        for (const queued of batch) await this.#settle(namespace, [queued], queue);
        return;
      }
      for (const queued of batch) queued.reject(error);
      queue.splice(0, batch.length);
    }
  }
}

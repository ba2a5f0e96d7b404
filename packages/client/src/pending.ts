import type { ClientError } from "./errors.js";

interface Entry<T, D> {
  readonly data: D;
  resolve(value: T): void;
  reject(error: ClientError): void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * Operations waiting for an answer from the relay (publishes waiting for their ack, requests
 * waiting for their reply), each with a timeout. Insertion order is kept, so unacknowledged
 * publishes go out again in the order they were made.
 */
export class Pending<T, D = undefined> {
  readonly #entries = new Map<string, Entry<T, D>>();

  get size(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The data of every waiting operation, oldest first. */
  data(): D[] {
    return [...this.#entries.values()].map((entry) => entry.data);
  }

  /** Waits for `key` to be settled; rejects with `onTimeout()` after `timeoutMs`. */
  wait(key: string, data: D, timeoutMs: number, onTimeout: () => ClientError): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#entries.delete(key);
        reject(onTimeout());
      }, timeoutMs);
      this.#entries.set(key, { data, resolve, reject, timer });
    });
  }

  /** Resolves the operation `key`; false when none waits. */
  settle(key: string, value: T): boolean {
    const entry = this.#take(key);
    entry?.resolve(value);
    return entry !== undefined;
  }

  /** Rejects the operation `key`; false when none waits. */
  fail(key: string, error: ClientError): boolean {
    const entry = this.#take(key);
    entry?.reject(error);
    return entry !== undefined;
  }

  /** Rejects every waiting operation. */
  failAll(error: ClientError): void {
    for (const key of [...this.#entries.keys()]) this.fail(key, error);
  }

  #take(key: string): Entry<T, D> | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    clearTimeout(entry.timer);
    return entry;
  }
}

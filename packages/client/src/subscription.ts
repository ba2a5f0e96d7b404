import { compileMatcher, type Headers, isInboxChannel } from "@pubsubbud/protocol";
import { ClientError } from "./errors.js";

/** A delivered message. */
export interface Message<T = unknown> {
  channel: string;
  /** Message id (the publisher's idempotency key). */
  id: string;
  data: T;
  /** Metadata; `{}` when the publisher sent none. */
  headers: Headers;
  /** Milliseconds since the Unix epoch, stamped by the relay. */
  ts: number;
  /** Position in the namespace log; opaque. */
  offset: string;
}

/** Receives messages of a subscription. An exception or rejection becomes an `error` event. */
export type MessageHandler<T = unknown> = (message: Message<T>) => void | Promise<void>;

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** Unsubscribes when aborted; `ready` then rejects with `aborted` if still unconfirmed. */
  signal?: AbortSignal;
  /**
   * Messages a subscription without a handler holds for its `for await` loop. A loop that falls
   * further behind gets every message held, then throws `slow_consumer`. @default 1000
   */
  bufferSize?: number;
}

/**
 * A live subscription. One made without a handler is iterated instead: `for await (const msg of
 * sub)`; leaving the loop (break, return, throw) unsubscribes. `using sub = ...` unsubscribes at
 * the end of the scope.
 */
export interface Subscription<T = unknown> extends AsyncIterable<Message<T>>, Disposable {
  readonly id: string;
  readonly pattern: string;
  /** Resolves when the relay confirmed the subscription; rejects with a ClientError if refused. */
  readonly ready: Promise<void>;
  /** Stops delivery at once and tells the relay. */
  unsubscribe(): void;
}

/** The client's record of a subscription. */
export class SubscriptionEntry implements Subscription {
  readonly id: string;
  readonly pattern: string;
  readonly ready: Promise<void>;
  readonly handler: MessageHandler;
  readonly #matches: (channel: string) => boolean;
  readonly #onUnsubscribe: (entry: SubscriptionEntry) => void;
  // Settling a settled promise does nothing: a refusal after the confirmation only ends the loop.
  #resolve!: () => void;
  #reject!: (error: ClientError) => void;
  /** Messages waiting for the loop; only without a handler. */
  readonly #buffer: Message[] | undefined;
  readonly #bufferSize: number;
  /** Why the loop ends once the buffer is drained: a ClientError, or true for a quiet end. */
  #end: ClientError | true | undefined;
  #wake: (() => void) | undefined;
  /** Removes what the subscription left on others (its AbortSignal listener) once it ends. */
  release: () => void = () => {};

  constructor(
    id: string,
    pattern: string,
    handler: MessageHandler | undefined,
    onUnsubscribe: (entry: SubscriptionEntry) => void,
    bufferSize = 1000,
  ) {
    this.id = id;
    this.pattern = pattern;
    this.#buffer = handler ? undefined : [];
    this.#bufferSize = bufferSize;
    this.handler = handler ?? ((message) => this.#push(message));
    this.#matches = compileMatcher(pattern);
    this.#onUnsubscribe = onUnsubscribe;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Callers need not await `ready`; an unobserved refusal must not crash the process.
    this.ready.catch(() => {});
  }

  /** Inbox channels reach only an exact subscription; patterns never see them. */
  matches(channel: string): boolean {
    if (isInboxChannel(channel)) return channel === this.pattern;
    return this.#matches(channel);
  }

  confirm(): void {
    this.#resolve();
  }

  /** Rejects `ready` if unconfirmed and ends the loop: quietly for `closed`, else with `error`. */
  refuse(error: ClientError): void {
    this.#stop(error.code === "closed" || error);
    this.#reject(error);
  }

  unsubscribe(): void {
    this.#onUnsubscribe(this);
  }

  [Symbol.dispose](): void {
    this.unsubscribe();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Message> {
    const buffer = this.#buffer;
    if (!buffer)
      throw new ClientError(
        "bad_argument",
        `${this.pattern} has a handler; subscribe without one to iterate`,
      );
    try {
      for (;;) {
        const next = buffer.shift();
        if (next) yield next;
        else if (this.#end === true) return;
        else if (this.#end) throw this.#end;
        else await new Promise<void>((wake) => (this.#wake = wake));
      }
    } finally {
      this.unsubscribe();
    }
  }

  #push(message: Message): void {
    const buffer = this.#buffer as Message[];
    if (this.#end) return;
    if (buffer.length < this.#bufferSize) buffer.push(message);
    else
      this.#stop(
        new ClientError(
          "slow_consumer",
          `the loop over ${this.pattern} fell ${this.#bufferSize} behind (bufferSize); later messages dropped`,
        ),
      );
    this.#wake?.();
  }

  #stop(end: ClientError | true): void {
    this.#end ??= end;
    this.#wake?.();
    this.release();
  }
}

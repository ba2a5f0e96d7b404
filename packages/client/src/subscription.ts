import { compileMatcher, type Headers, isInboxChannel } from "@pubsubbud/protocol";
import type { ClientError } from "./errors.js";

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

/** A live subscription. `using sub = ...` unsubscribes at the end of the scope. */
// biome-ignore lint/correctness/noUnusedVariables: T names the handler's message type; `messages()` extends it.
export interface Subscription<T = unknown> extends Disposable {
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
  // Settling a settled promise does nothing: a refusal after the confirmation only ends it.
  #resolve!: () => void;
  #reject!: (error: ClientError) => void;
  /** Called once when the subscription ends, with why (`closed` when unsubscribed). */
  ended: (error: ClientError) => void = () => {};

  constructor(
    id: string,
    pattern: string,
    handler: MessageHandler,
    onUnsubscribe: (entry: SubscriptionEntry) => void,
  ) {
    this.id = id;
    this.pattern = pattern;
    this.handler = handler;
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

  /** Rejects `ready` if unconfirmed and ends the subscription. The client refuses each once. */
  refuse(error: ClientError): void {
    this.#reject(error);
    this.ended(error);
  }

  unsubscribe(): void {
    this.#onUnsubscribe(this);
  }

  [Symbol.dispose](): void {
    this.unsubscribe();
  }
}

import { onAbort } from "./abort.js";
import type { PubsubBudClient } from "./client.js";
import { ClientError } from "./errors.js";
import { type Message, type Subscription, SubscriptionEntry } from "./subscription.js";

/** Options of {@link messages}. */
export interface MessagesOptions {
  /** Unsubscribes when aborted; the loop then throws `aborted`. */
  signal?: AbortSignal;
  /**
   * Messages held for the loop. A loop that falls further behind gets every message held, then
   * throws `slow_consumer`. @default 1000
   */
  bufferSize?: number;
}

/** A subscription read with `for await`; leaving the loop (break, return, throw) unsubscribes. */
export interface MessageStream<T = unknown> extends Subscription<T>, AsyncIterable<Message<T>> {}

/**
 * Subscribes to `pattern` for a `for await` loop: messages wait in a bounded buffer until the loop
 * takes them. The client closing ends the loop quietly; a refusal or an abort ends it with that
 * error.
 * @example for await (const msg of messages(client, "sensor.*", { signal })) render(msg.data);
 */
export function messages<T = unknown>(
  client: PubsubBudClient,
  pattern: string,
  options: MessagesOptions = {},
): MessageStream<T> {
  const { signal, bufferSize = 1000 } = options;
  const buffer: Message<T>[] = [];
  /** Why the loop ends once the buffer is drained: a ClientError, or true for a quiet end. */
  let end: ClientError | true | undefined;
  let wake: (() => void) | undefined;
  const stop = (why: ClientError | true): void => {
    end ??= why;
    wake?.();
  };
  const sub = client.subscribe<T>(pattern, (message) => {
    if (end) return;
    if (buffer.length < bufferSize) buffer.push(message);
    else
      stop(
        new ClientError(
          "slow_consumer",
          `the loop over ${pattern} fell ${bufferSize} behind (bufferSize); later messages dropped`,
        ),
      );
    wake?.();
  });
  const release = onAbort(signal, (error) => {
    stop(error);
    sub.unsubscribe();
  });
  if (sub instanceof SubscriptionEntry)
    sub.ended = (error) => {
      release();
      stop(error.code === "closed" || error);
    };
  async function* loop(): AsyncGenerator<Message<T>> {
    try {
      for (;;) {
        const next = buffer.shift();
        if (next) yield next;
        else if (end === true) return;
        else if (end) throw end;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      sub.unsubscribe();
    }
  }
  return Object.assign(sub, { [Symbol.asyncIterator]: loop });
}

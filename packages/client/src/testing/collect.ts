import type { PubsubBudClient } from "../client.js";
import type { Message, Subscription } from "../subscription.js";
import { realDelay } from "./clock.js";

/** Messages of a subscription, kept for a test to inspect and await. */
export interface Collected<T = unknown> {
  /** Every message so far, in delivery order. */
  readonly messages: Message<T>[];
  readonly subscription: Subscription<T>;
  /** The subscription's `ready`. */
  readonly ready: Promise<void>;
  /** The next message not yet returned by `next` (the first one on the first call). */
  next(timeoutMs?: number): Promise<Message<T>>;
  /** Resolves with the messages once there are at least `count`. */
  waitFor(count: number, timeoutMs?: number): Promise<Message<T>[]>;
}

/**
 * Subscribes `client` to `pattern` and keeps what arrives. Waits time out on the real clock
 * (default 5 s), so they work under a fake one too, and say how many messages came.
 * @example
 * const inbox = collect(client, "chat.*");
 * await inbox.ready;
 * expect((await inbox.next()).data).toEqual({ text: "hi" });
 */
export function collect<T = unknown>(client: PubsubBudClient, pattern: string): Collected<T> {
  const messages: Message<T>[] = [];
  const waiters = new Set<() => void>();
  const subscription = client.subscribe<T>(pattern, (message) => {
    messages.push(message);
    for (const waiter of waiters) waiter();
  });
  let taken = 0;
  const waitFor = (count: number, timeoutMs = 5000): Promise<Message<T>[]> =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (messages.length < count) return false;
        waiters.delete(check);
        resolve(messages);
        return true;
      };
      if (check()) return;
      waiters.add(check);
      void realDelay(timeoutMs).then(() => {
        if (!waiters.delete(check)) return;
        reject(
          new Error(`${pattern}: ${messages.length} of ${count} messages within ${timeoutMs} ms`),
        );
      });
    });
  return {
    messages,
    subscription,
    ready: subscription.ready,
    async next(timeoutMs) {
      const index = taken++;
      await waitFor(index + 1, timeoutMs);
      return messages[index] as Message<T>;
    },
    waitFor,
  };
}

import { isInboxChannel } from "@pubsubbud/protocol";
import type { LogMessage } from "./broker.js";

/** A message as shown on the live page and in stats. */
export interface TailEntry extends LogMessage {
  namespace: string;
}

/**
 * The most recent messages a relay delivered or accepted, for `stats().tail` and the live page:
 * a ring of references, so the hot path neither copies messages nor shifts arrays.
 */
export class Tail {
  readonly #messages: LogMessage[] = [];
  readonly #namespaces: string[] = [];
  #next = 0;
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  remember(namespace: string, message: LogMessage): void {
    // Inbox replies are private: never kept where stats, the live page or logs could show them.
    if (this.#size === 0 || isInboxChannel(message.channel)) return;
    this.#messages[this.#next] = message;
    this.#namespaces[this.#next] = namespace;
    this.#next = (this.#next + 1) % this.#size;
  }

  /** The kept messages, oldest first. */
  entries(): TailEntry[] {
    return this.#messages.map((_, i) => {
      const at = (this.#next + i) % this.#messages.length;
      return { namespace: this.#namespaces[at] as string, ...(this.#messages[at] as LogMessage) };
    });
  }
}

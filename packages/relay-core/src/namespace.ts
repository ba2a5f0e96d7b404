import type { BrokerListener, StopListening } from "./broker.js";
import { SubscriptionIndex } from "./subscription-index.js";

/** How a namespace starts its broker feed: `Broker.listen`, bound to one namespace's listener. */
export type ListenToNamespace = (name: string, listener: BrokerListener) => Promise<StopListening>;

/**
 * A namespace with members (sessions) on this relay: its subscription index and its broker
 * listener, held while it has members. It knows nothing of sessions or of the engine: the
 * listener it was given decides what a message does.
 */
export class NamespaceState<Member> {
  readonly name: string;
  readonly index = new SubscriptionIndex<Member>();
  readonly sessions = new Set<Member>();
  #listening: Promise<StopListening> | undefined;
  readonly #listen: ListenToNamespace;
  readonly #listener: BrokerListener;

  constructor(name: string, listen: ListenToNamespace, listener: BrokerListener) {
    this.name = name;
    this.#listen = listen;
    this.#listener = listener;
  }

  /** Adds a member; the first one makes this relay listen to the namespace on the broker. */
  async attach(member: Member): Promise<void> {
    this.sessions.add(member);
    if (!this.#listening) {
      this.#listening = this.#listen(this.name, this.#listener);
      this.#listening.catch(() => {
        this.#listening = undefined;
      });
    }
    await this.#listening;
  }

  /** Removes a member; the last one stops the broker listener (reference counting). */
  detach(member: Member): boolean {
    this.sessions.delete(member);
    if (this.sessions.size > 0) return false;
    const listening = this.#listening;
    this.#listening = undefined;
    listening?.then(
      (stop) => stop(),
      () => {},
    );
    return true;
  }
}

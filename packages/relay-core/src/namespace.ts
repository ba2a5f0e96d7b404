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
  /**
   * Connections given this namespace, members or still in their handshake: while one holds it,
   * it stays the relay's one state of this name (a second copy would split the subscriptions
   * and their budgets).
   */
  #holders = 0;
  #listening: Promise<StopListening> | undefined;
  /** The broker feed of #listening is running (its promise resolved). */
  #listened = false;
  readonly #listen: ListenToNamespace;
  readonly #listener: BrokerListener;

  constructor(name: string, listen: ListenToNamespace, listener: BrokerListener) {
    this.name = name;
    this.#listen = listen;
    this.#listener = listener;
  }

  /**
   * Adds a member; the first one makes this relay listen to the namespace on the broker. Returns
   * what to wait for until the broker feed runs, or nothing when it already does.
   */
  attach(member: Member): Promise<unknown> | undefined {
    this.sessions.add(member);
    if (this.#listened) return undefined;
    if (!this.#listening) {
      const listening = this.#listen(this.name, this.#listener);
      this.#listening = listening;
      listening.then(
        () => {
          if (this.#listening === listening) this.#listened = true;
        },
        () => {
          if (this.#listening === listening) this.#listening = undefined;
        },
      );
    }
    return this.#listening;
  }

  /** A connection takes this namespace (before its handshake makes it a member). */
  hold(): this {
    this.#holders++;
    return this;
  }

  /**
   * A connection that held this namespace is gone: it stops being a member, and the last member
   * stops the broker listener (reference counting). True when no connection holds the namespace
   * any more, so the relay may forget it.
   */
  release(member: Member): boolean {
    this.#holders--;
    if (this.sessions.delete(member) && this.sessions.size === 0) {
      const listening = this.#listening;
      this.#listening = undefined;
      this.#listened = false;
      listening?.then(
        (stop) => stop(),
        () => {},
      );
    }
    return this.#holders === 0;
  }
}

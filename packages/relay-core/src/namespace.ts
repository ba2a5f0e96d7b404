import type { StopListening } from "./broker.js";
import type { RelayEngine } from "./relay.js";
import type { Session } from "./session.js";
import { SubscriptionIndex } from "./subscription-index.js";

/** A namespace with sessions on this relay: its subscription index and its broker listener. */
export class NamespaceState {
  readonly name: string;
  readonly index = new SubscriptionIndex<Session>();
  readonly sessions = new Set<Session>();
  #listening: Promise<StopListening> | undefined;
  readonly #engine: RelayEngine;

  constructor(engine: RelayEngine, name: string) {
    this.#engine = engine;
    this.name = name;
  }

  /** Adds a session; the first one makes this relay listen to the namespace on the broker. */
  async attach(session: Session): Promise<void> {
    this.sessions.add(session);
    if (!this.#listening) {
      this.#listening = this.#engine.broker.listen(this.name, {
        message: (message) => this.#engine.fanOut(this, message),
        gap: () => this.#engine.brokerGap(this),
      });
      this.#listening.catch(() => {
        this.#listening = undefined;
      });
    }
    await this.#listening;
  }

  /** Removes a session; the last one stops the broker listener (reference counting). */
  detach(session: Session): boolean {
    this.sessions.delete(session);
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

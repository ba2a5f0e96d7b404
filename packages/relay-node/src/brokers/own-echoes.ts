/**
 * Publishes waiting for their own copy to come back through the broker, so the publisher's ack
 * carries the offset this instance's subscribers see. A copy is matched by its dedupe key: the
 * first copy of a retried id (published through another instance) answers the retry too.
 *
 * At most `capacity` publishes are on their way at once; the next waits its turn before it is
 * sent. The broker queues this relay's own copies per session (Mosquitto drops what exceeds
 * `max_queued_messages`, 1000 by default): a relay that sends faster than its copies come back
 * would overflow its own queue, so it is held to the pace at which they come back.
 */
import { type PublishOutcome, type Publisher, PublishUncertainError } from "@pubsubbud/relay-core";
import { getOrCreate } from "@pubsubbud/relay-core/internal";
import { PUBLISHER_GONE } from "./shared.js";

interface Waiter {
  readonly key: string;
  readonly namespace: string;
  /** The number of the publish in this instance's stream of the namespace. */
  readonly n: number;
  resolve(outcome: PublishOutcome): void;
  reject(error: Error): void;
}

/** A registered wait: `copy` settles when the copy arrives or the broker provably dropped it. */
export interface Echo {
  readonly copy: Promise<PublishOutcome>;
  cancel(): void;
}

export class OwnEchoes {
  readonly #capacity: number;
  #held = 0;
  /**
   * Publishes waiting for a turn, oldest first, as the call that gives one its turn: false when it
   * no longer takes one (it gave up, or nobody waits for it), and the turn goes on. One that gave
   * up stays until it is reached.
   */
  readonly #queue: Array<() => boolean> = [];
  readonly #byKey = new Map<string, Set<Waiter>>();
  /** Per namespace, by stream number: insertion order is number order. */
  readonly #byNumber = new Map<string, Map<number, Waiter>>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /**
   * Waits for a turn to send (fewer than `capacity` on their way); the next {@link wait} holds it
   * until its copy settles or is cancelled. Turns go in call order. Rejects, never sent, when
   * `deadline` comes first or, when its turn comes, nobody waits for the publish any more
   * (`publisher.aborted`): sending it then would put it behind the client's resends.
   */
  async turn(deadline: Promise<never>, publisher?: Publisher): Promise<void> {
    if (this.#held < this.#capacity) {
      this.#held++;
      return;
    }
    // An object: the grant below changes it where the compiler cannot follow.
    const turn: { state: "waiting" | "granted" | "gone" | "given up" } = { state: "waiting" };
    const ready = new Promise<void>((resolve, reject) => {
      this.#queue.push(() => {
        if (turn.state !== "waiting") return false;
        if (publisher?.aborted) {
          turn.state = "gone";
          reject(new Error(PUBLISHER_GONE));
          return false;
        }
        turn.state = "granted";
        resolve();
        return true;
      });
    });
    try {
      await Promise.race([ready, deadline]);
    } catch (error) {
      if (turn.state === "gone") throw error;
      // The deadline won, perhaps after the turn came: a turn nobody uses goes to the next.
      if (turn.state === "granted") this.#release();
      turn.state = "given up";
      throw new Error(
        `not sent: ${this.#capacity} messages of this relay were still on their way through the broker`,
      );
    }
  }

  /** A turn is free: the oldest publish still waiting takes it. */
  #release(): void {
    for (let grant = this.#queue.shift(); grant; grant = this.#queue.shift()) if (grant()) return;
    this.#held--;
  }

  /** Waits for the copy of the message with this key, published as number `n` of the namespace. */
  wait(namespace: string, key: string, n: number): Echo {
    let waiter: Waiter | undefined;
    const copy = new Promise<PublishOutcome>((resolve, reject) => {
      waiter = { key, namespace, n, resolve, reject };
    });
    // Settled by whichever comes first; the publish may already be answered (a refusal).
    copy.catch(() => {});
    const registered = waiter as Waiter;
    getOrCreate(this.#byKey, key, () => new Set<Waiter>()).add(registered);
    getOrCreate(this.#byNumber, namespace, () => new Map<number, Waiter>()).set(n, registered);
    return { copy, cancel: () => this.#remove(registered) };
  }

  /**
   * A copy with this key arrived at `offset`: a publish waiting for it is answered as a duplicate
   * unless the copy is its own (`own` is the number of this instance's stream the copy carries).
   */
  settle(key: string, offset: string, own: number | undefined): void {
    const keyed = this.#byKey.get(key);
    if (!keyed) return;
    for (const waiter of [...keyed]) {
      this.#remove(waiter);
      waiter.resolve({ offset, duplicate: waiter.n !== own });
    }
  }

  /**
   * This instance's own number `n` of the namespace came back: its earlier numbers that are still
   * awaited were dropped on the way back (the broker's queue for this relay overflowed). The
   * broker took them, and other instances may have delivered them: their outcome is uncertain.
   */
  overtaken(namespace: string, n: number): void {
    const numbered = this.#byNumber.get(namespace);
    if (!numbered) return;
    for (const waiter of [...numbered.values()]) {
      if (waiter.n >= n) break;
      this.#remove(waiter);
      waiter.reject(
        new PublishUncertainError(
          `the broker did not deliver this relay's own copy of message number ${waiter.n} (a later one came back first)`,
        ),
      );
    }
  }

  #remove(waiter: Waiter): void {
    const keyed = this.#byKey.get(waiter.key);
    if (!keyed?.delete(waiter)) return;
    if (keyed.size === 0) this.#byKey.delete(waiter.key);
    this.#release();
    const numbered = this.#byNumber.get(waiter.namespace);
    if (numbered?.get(waiter.n) === waiter) {
      numbered.delete(waiter.n);
      if (numbered.size === 0) this.#byNumber.delete(waiter.namespace);
    }
  }
}

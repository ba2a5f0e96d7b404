import type { InvalidDetail } from "./channel.js";

/**
 * Connection states: `connecting` (first attempt), `open`, `reconnecting`, `paused` (the page
 * was hidden longer than `pageLifecycle`'s `hiddenTimeoutMs`; it reconnects when visible), and the final ones
 * `closed` (by `close()` or the relay) and `unauthorized` (the relay refused the token).
 */
export type ClientState =
  | "connecting"
  | "open"
  | "reconnecting"
  | "paused"
  | "closed"
  | "unauthorized";

/** Details of a `gap` event: messages may have been missed and state should be reloaded. */
export interface GapDetail {
  /** Why: the relay could not replay everything since the last offset. */
  reason: "not_recovered";
  /** The new log position the client continues from. */
  epoch: string;
  offset: string;
}

/** Event types of the client and their `detail`. */
export interface ClientEventMap {
  state: {
    state: ClientState;
    previous: ClientState;
    /** Close code and reason that caused a `reconnecting` or `closed` state. */
    code?: number;
    reason?: string;
    /** On `open` after a resume: whether every missed message is being replayed. */
    recovered?: boolean;
  };
  gap: GapDetail;
  error: Error;
  /** A message a typed channel's schema refused; its handler did not see it. */
  invalid: InvalidDetail;
}

/** An event carrying a `detail`, usable in every runtime (CustomEvent is not everywhere). */
export class ClientEvent<K extends keyof ClientEventMap = keyof ClientEventMap> extends Event {
  readonly detail: ClientEventMap[K];
  constructor(type: K, detail: ClientEventMap[K]) {
    super(type);
    this.detail = detail;
  }
}

/** An EventTarget whose listeners are typed by {@link ClientEventMap}. */
export class ClientEventTarget extends EventTarget {
  /** Dispatches one client event. */
  protected emit<K extends keyof ClientEventMap>(type: K, detail: ClientEventMap[K]): void {
    this.dispatchEvent(new ClientEvent(type, detail));
  }
}

export interface ClientEventTarget {
  addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEvent<K>) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEvent<K>) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

import type { Headers } from "@pubsubbud/protocol";
import type { ReconnectOptions } from "./backoff.js";

/** A WebSocket constructor: the global one, or `ws`'s on Node 20. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Relay URL: `ws://host:port` for namespace `default`, `ws://host:port/ns/<namespace>` for another. */
  url: string;
  /** Token sent in `hello`; a function is called before every (re)connect. */
  token?: string | (() => string | Promise<string>);
  /** WebSocket constructor. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** Backoff settings. */
  reconnect?: ReconnectOptions;
  /** Most unacknowledged publishes held (while offline or in flight). @default 1000 */
  maxQueuedPublishes?: number;
  /** A publish not acknowledged within this many ms rejects with `publish_timeout`. @default 30000 */
  publishTimeoutMs?: number;
  /** This client's id, kept across reconnects; it names the private inbox. @default a random 26-character id */
  clientId?: string;
  /**
   * Watches the runtime for moments the link is likely dead or unneeded and tells the client;
   * `pageLifecycle()` does it for a browser page. @default undefined (nothing watched)
   */
  lifecycle?: Lifecycle;
}

/**
 * What a {@link Lifecycle} may do to the client it is given to. Calls after the client closed
 * do nothing.
 */
export interface LifecycleControl {
  /** The link may be back (a page became visible, the network is up): probe it or stop waiting. */
  wake(): void;
  /** Closes the connection (state `paused`) until {@link LifecycleControl.resume}. */
  pause(): void;
  /** Reconnects a paused client, resuming where it left off. */
  resume(): void;
}

/** Watches a runtime for a client; returns what stops watching (called when the client closes). */
export type Lifecycle = (control: LifecycleControl) => () => void;

/** Options of a publish. */
export interface PublishOptions {
  headers?: Headers;
  /** Message id and idempotency key. @default a random 26-character id */
  id?: string;
}

/** Options of a request. */
export interface RequestOptions {
  headers?: Headers;
  /** Milliseconds to wait for the reply. @default 10000 */
  timeout?: number;
  /** Rejects the request with `aborted` when aborted; a reply arriving later is dropped. */
  signal?: AbortSignal;
}

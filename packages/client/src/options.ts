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
  /** Closes the client when aborted. */
  signal?: AbortSignal;
  /**
   * In a browser: once the page has been hidden this many ms, close the connection (state
   * `paused`) and reconnect, resuming, when it is visible again. @default undefined (stay connected)
   */
  hiddenTimeoutMs?: number;
}

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

import { SUBPROTOCOL } from "@pubsubbud/protocol";
import ReconnectingWebSocket from "partysocket/ws";
import { ClientError, ClientErrorCode } from "./errors.js";
import type { WebSocketConstructor } from "./options.js";

/** What the client does at each turn of the socket's life. */
export interface SocketHooks {
  /** Waits out the backoff and fetches the token; resolves with the URL to connect to. */
  nextUrl(): Promise<string>;
  /** Whether to reconnect after a close with `code` and `reason`. */
  shouldReconnect(code: number, reason: string): boolean;
  open(): void;
  message(text: string): void;
}

/**
 * Opens the reconnecting socket. partysocket keeps the socket; the delay is the client's (full
 * jitter, relay advice), applied in `nextUrl`, so partysocket's own fixed backoff is zero.
 */
export function openSocket(
  WebSocket: WebSocketConstructor | undefined,
  connectTimeoutMs: number,
  hooks: SocketHooks,
): ReconnectingWebSocket {
  const WebSocketImpl = WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocketImpl)
    throw new ClientError(
      ClientErrorCode.NoWebSocket,
      "no WebSocket in this runtime: pass the WebSocket option (on Node 20: import WebSocket from 'ws')",
    );
  const ws = new ReconnectingWebSocket(() => hooks.nextUrl(), SUBPROTOCOL, {
    WebSocket: WebSocketImpl,
    maxRetries: Number.POSITIVE_INFINITY,
    minReconnectionDelay: 0,
    maxReconnectionDelay: 0,
    reconnectionDelayGrowFactor: 1,
    connectionTimeout: connectTimeoutMs,
    maxEnqueuedMessages: 0,
    shouldReconnectOnClose: (event) => hooks.shouldReconnect(event.code, event.reason),
  });
  ws.addEventListener("open", () => hooks.open());
  ws.addEventListener("message", (event) => hooks.message(event.data as string));
  return ws;
}

import { RX_CREDIT_CHARS, SUBPROTOCOL } from "@pubsubbud/protocol";
import { ClientError } from "./errors.js";
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

/** The one socket of a client, replaced by a new one after every close it should survive. */
export interface ReconnectingSocket {
  /** Sends on the open socket; dropped when none is open (the client resends after `hello`). */
  send(text: string): void;
  /** Closes for good. */
  close(code: number, reason: string): void;
  /** Gives up on the current socket (a dead link) as if it closed with `code`. */
  reconnect(code: number, reason: string): void;
  /** Closes the current socket and opens none until `resume` (a hidden page). */
  pause(): void;
  resume(): void;
}

/** The part of a WebSocket the client uses: the browser's, `ws`'s, workerd's. */
interface Socket {
  readonly readyState: number;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;
/** A connect that does not open in time counts as an abnormal close. */
const ABNORMAL = 1006;

/**
 * Opens the client's socket and keeps replacing it: each close goes to `shouldReconnect`, and a
 * new socket to the URL `nextUrl` resolves (after the client's backoff) when it says so. The
 * runtime's WebSocket is used as given, so the client has no socket library of its own.
 */
export function openSocket(
  WebSocket: WebSocketConstructor | undefined,
  connectTimeoutMs: number,
  hooks: SocketHooks,
): ReconnectingSocket {
  const Impl = WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Impl)
    throw new ClientError(
      "no_websocket",
      "no global WebSocket: pass the WebSocket option (Node 20: from 'ws')",
    );
  let current: Socket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let paused = false;
  /** Set while a connect waits for its URL (backoff, token). */
  let waiting = false;

  const drop = (socket: Socket): void => {
    socket.onopen = socket.onmessage = socket.onclose = null;
    // A socket given up on may still error or close later; neither concerns the client.
    socket.onerror = () => {};
    clearTimeout(timer);
    current = undefined;
  };
  const lost = (socket: Socket, code: number, reason: string): void => {
    if (socket !== current) return;
    drop(socket);
    if (!closed && hooks.shouldReconnect(code, reason)) void connect();
  };
  /** Closes the current socket without telling the client: it asked for this. */
  const shut = (code: number, reason: string): void => {
    const socket = current;
    if (!socket) return;
    drop(socket);
    socket.close(code, reason);
  };
  const connect = async (): Promise<void> => {
    waiting = true;
    const url = await hooks.nextUrl();
    waiting = false;
    if (closed || paused) return;
    const socket = new Impl(url, SUBPROTOCOL) as Socket;
    current = socket;
    timer = setTimeout(() => {
      lost(socket, ABNORMAL, "connect timeout");
      socket.close();
    }, connectTimeoutMs);
    socket.onopen = () => {
      clearTimeout(timer);
      hooks.open();
    };
    // Receive credit (docs/protocol.md): characters taken off this socket, acknowledged at least
    // once per RX_CREDIT_CHARS, for a relay (relay-worker) that cannot see the socket's buffer.
    let received = 0;
    let credited = 0;
    socket.onmessage = (event) => {
      const text = event.data as string;
      received += text.length;
      if (received - credited >= RX_CREDIT_CHARS && socket.readyState === OPEN) {
        credited = received;
        socket.send(`{"type":"ping","rx":${received}}`);
      }
      hooks.message(text);
    };
    socket.onclose = (event) => lost(socket, event.code, event.reason);
    socket.onerror = () => {};
  };
  void connect();

  return {
    send(text) {
      if (current?.readyState === OPEN) current.send(text);
    },
    close(code, reason) {
      closed = true;
      shut(code, reason);
    },
    pause() {
      paused = true;
      shut(1000, "page hidden");
    },
    resume() {
      paused = false;
      if (!current && !waiting && !closed) void connect();
    },
    reconnect(code, reason) {
      const socket = current;
      if (!socket) return;
      lost(socket, code, reason);
      socket.close(code, reason);
    },
  };
}

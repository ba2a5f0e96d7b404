/**
 * The WebSocket upgrade of relay-node: relay-core's admission (the same as relay-worker's), made
 * before ws sees the request, so every refusal is a documented JSON answer; then the socket is
 * handed to the core.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { BINARY_FRAME, ErrorCode } from "@pubsubbud/protocol";
import {
  type Connection,
  HttpCode,
  type Logger,
  type RelayCore,
  type Transport,
} from "@pubsubbud/relay-core";
import {
  admitUpgrade,
  type HttpAnswer,
  pathOf,
  refusal,
  type UpgradeRequest,
} from "@pubsubbud/relay-core/internal";
import type { WebSocket, WebSocketServer } from "ws";
import { answerSocket } from "./answer.js";
import { headerOf } from "./http.js";
import { textFrame } from "./ws-frame.js";

/** WebSocket.OPEN (ws is imported for its types only here). */
const OPEN = 1;

/** What the upgrade handler works with. */
export interface UpgradeOptions {
  core: RelayCore;
  /** Made with `clientTracking: false`: the open sockets are kept in `sockets`. */
  wss: WebSocketServer;
  /** The relay's open sockets: each is added when upgraded and leaves when it closes. */
  sockets: Set<WebSocket>;
  logger: Logger;
  allowedOrigins: readonly string[] | undefined;
  clientIpHeader: string | undefined;
}

/** The client's address: the proxy's header when configured (its last value), else the socket's. */
function clientAddress(req: IncomingMessage, header: string | undefined): string | undefined {
  const value = header === undefined ? undefined : headerOf(req, header.toLowerCase());
  const last = value?.split(",").pop()?.trim();
  return last || req.socket.remoteAddress;
}

// RFC 6455 §4.2.1: the key is 16 random bytes in base64 (the shape ws itself accepts).
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Why the handshake headers ws reads are refused, or undefined: ws would refuse them itself, but
 * with a plain-text answer. Version 13 only, the browsers' version, whose Origin header is the
 * one checked (version 8 sends Sec-WebSocket-Origin instead).
 */
function handshakeRefusal({ header }: UpgradeRequest): HttpAnswer | undefined {
  if (header("sec-websocket-version")?.trim() !== "13")
    return refusal(400, HttpCode.BadRequest, "Sec-WebSocket-Version must be 13");
  if (!WEBSOCKET_KEY.test(header("sec-websocket-key") ?? ""))
    return refusal(400, HttpCode.BadRequest, "Sec-WebSocket-Key must be 16 bytes in base64");
  return undefined;
}

/**
 * A ws socket as relay-core's transport, and the link from the socket to its connection: one
 * object per connection, its methods on the prototype (an idle connection's memory is what a
 * relay holds most of, see docs/performance.md).
 */
class WsTransport implements Transport {
  readonly #ws: WebSocket;
  /** The upgraded TCP socket under #ws: messages are written to it as whole frames (ws-frame.ts). */
  readonly #socket: Duplex;
  /** The relay's open sockets, which this one leaves when it closes. */
  readonly #open: Set<WebSocket>;
  connection!: Connection;

  constructor(ws: WebSocket, socket: Duplex, open: Set<WebSocket>) {
    this.#ws = ws;
    this.#socket = socket;
    this.#open = open;
    open.add(ws);
  }

  send(text: string): void {
    this.#write(text);
  }

  sendThen(text: string, written: () => void): void {
    this.#write(text, written);
  }

  /** One frame buffer on the open socket; after its close frame, what ws does with a frame. */
  #write(text: string, written?: () => void): void {
    if (this.#ws.readyState === OPEN) this.#socket.write(textFrame(text), written);
    else this.#ws.send(text, written);
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** The socket closed. */
  closed(): void {
    this.#open.delete(this.#ws);
    this.connection.closed();
  }
}

/** The transport of a socket, kept on the socket so its listeners can be shared functions. */
const TRANSPORT = Symbol("pubsubbud.transport");
type FedSocket = WebSocket & { [TRANSPORT]: WsTransport };
const transportOf = (ws: WebSocket): WsTransport => (ws as FedSocket)[TRANSPORT];

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const { connection } = transportOf(this);
  if (isBinary) connection.receive(BINARY_FRAME);
  else connection.receive(data.toString("utf8"), data.length);
}

function onClose(this: WebSocket): void {
  transportOf(this).closed();
}

/**
 * Hands an upgraded socket to the core. Its listeners are functions shared by every socket (not
 * closures each): an idle connection's memory is what a relay holds most of.
 */
function connect(
  ws: WebSocket,
  socket: Duplex,
  options: UpgradeOptions,
  namespace: string,
  remote: string | undefined,
  onError: (this: WebSocket, error: Error) => void,
): void {
  const transport = new WsTransport(ws, socket, options.sockets);
  (ws as FedSocket)[TRANSPORT] = transport;
  transport.connection = options.core.accept({ namespace, remote, transport });
  ws.on("message", onMessage);
  ws.on("close", onClose);
  ws.on("error", onError);
}

/** Builds the `upgrade` handler. It never throws: a failure inside is answered 500 `internal`. */
export function createUpgradeHandler(options: UpgradeOptions) {
  const { core, logger } = options;
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const remote = clientAddress(req, options.clientIpHeader);
    const admission = admitUpgrade(
      { path: pathOf(req.url), method: req.method, header: (name) => headerOf(req, name), remote },
      { allowedOrigins: options.allowedOrigins, handshake: handshakeRefusal, connections: core },
    );
    if (!admission.admitted) return answerSocket(socket, admission.answer);
    const namespace = admission.namespace;
    options.wss.handleUpgrade(req, socket, head, (ws) => {
      // ws listens for the socket's errors from here on.
      socket.off("error", onSocketError);
      connect(ws, socket, options, namespace, remote, onError);
    });
  };
  const onSocketError = (error: unknown) =>
    logger.debug("upgrade socket error", { error: String(error) });
  const onError = function (this: WebSocket, error: Error) {
    const { session } = transportOf(this).connection;
    logger.debug("socket error", { session, error: String(error) });
  };
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node hands an upgrade's socket over without an error listener: a client that resets it
    // (while being refused, say) would otherwise throw an uncaught ECONNRESET in the relay.
    socket.on("error", onSocketError);
    try {
      upgrade(req, socket, head);
    } catch (error) {
      logger.error("upgrade failed", { path: pathOf(req.url), error: String(error) });
      answerSocket(socket, refusal(500, ErrorCode.Internal, "the relay failed on this upgrade"));
    }
  };
}

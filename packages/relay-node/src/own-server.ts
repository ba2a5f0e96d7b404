/**
 * The HTTP server `listen` creates: bounds against clients that open sockets and never finish a
 * request (slowloris), that is header and request timeouts and a count per address of sockets
 * waiting for a request's headers, and JSON answers to requests Node's parser refuses. An app
 * that mounts the relay on its own server sets its own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { HttpCode } from "@pubsubbud/relay-core";
import { type HttpAnswer, refusal } from "@pubsubbud/relay-core/internal";
import { answerSocket, sendAnswer } from "./answer.js";
import { RelayNodeError, RelayNodeErrorCode } from "./errors.js";

/** Bounds of the server `listen` creates; docs/operations.md lists them. */
export interface ServerLimits {
  /** Time a client has for a request's headers, an upgrade's included, in ms; then 408. @default 10000 */
  headersTimeoutMs: number;
  /** Time a client has for a whole request, body included, in ms; then 408. @default 30000 */
  requestTimeoutMs: number;
  /**
   * Sockets one address may hold that wait for a request's headers (new ones, idle
   * keep-alives); more are answered 429 `too_many_pending` and closed. Requests being served
   * and WebSockets do not count. By socket address, and not applied with `clientIpHeader` (the
   * proxy in front holds slow clients). @default 256
   */
  maxPendingPerIp: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxPendingPerIp: 256,
});

/** The limits with defaults filled in; throws `bad_config` for a header timeout past the request's. */
export function serverLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...given };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs)
    throw new RelayNodeError(
      RelayNodeErrorCode.BadConfig,
      `server.headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed server.requestTimeoutMs (${limits.requestTimeoutMs})`,
    );
  return limits;
}

/** The options of `http.createServer` for the relay's own server. */
function serverOptions(limits: ServerLimits) {
  return {
    // Node would answer a missing Host with a bare 400; `hostRefusal` answers it with a code.
    requireHostHeader: false,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks the timeouts on this interval (30 s by default), so it bounds their slack.
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  };
}

/** The refusal of an HTTP/1.1 request without a Host header (RFC 9112 §3.2), or undefined. */
function hostRefusal(req: IncomingMessage): HttpAnswer | undefined {
  if (req.httpVersion !== "1.1" || req.headers.host !== undefined) return undefined;
  return refusal(400, HttpCode.BadRequest, "an HTTP/1.1 request needs a Host header");
}

/**
 * Answers what Node's HTTP parser refused (malformed request line or headers, headers past
 * 16 KiB, a timeout) with a documented code, as the relay's other answers; a socket mid-response
 * or already gone is just closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const busy = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (error.code === "ECONNRESET" || busy) {
    socket.destroy();
    return;
  }
  answerSocket(
    socket,
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? refusal(408, HttpCode.RequestTimeout, "the request did not arrive in time")
      : error.code === "HPE_HEADER_OVERFLOW"
        ? refusal(431, HttpCode.HeadersTooLarge, "the request's headers are larger than 16 KiB")
        : refusal(400, HttpCode.BadRequest, "the request is not valid HTTP/1.1"),
  );
}

/**
 * Sockets per address that wait for a request's headers: new ones, and idle keep-alives (the
 * next request's headers may trickle in too). A socket whose request arrived (or that became a
 * WebSocket) is not counted while it is served, so a publisher with many requests in flight is
 * never held back by this bound; a slowloris, whose requests never arrive, is.
 */
export class PendingSockets {
  readonly #max: number;
  readonly #byAddress = new Map<string, number>();
  /** The address of each socket counted now. */
  readonly #waiting = new Map<Duplex, string>();
  readonly #refused = new WeakSet<Duplex>();

  constructor(max: number) {
    this.#max = max;
  }

  /**
   * Watches a server's sockets. A new one past the limit is answered 429 and marked, so the
   * server's request and upgrade handlers drop whatever it sends anyway.
   */
  watch(server: Server): void {
    const pending = this;
    // One listener for every socket (not a closure each), until the socket closes or upgrades.
    const onClose = function (this: Duplex) {
      pending.#served(this);
    };
    server.prependListener("connection", (socket: Duplex & { remoteAddress?: string }) => {
      const address = socket.remoteAddress ?? "";
      if ((this.#byAddress.get(address) ?? 0) >= this.#max) {
        this.#refused.add(socket);
        answerSocket(
          socket,
          refusal(
            429,
            HttpCode.TooManyPending,
            `this address already has ${this.#max} connections waiting for a request (server.maxPendingPerIp); finish or close them`,
          ),
        );
        return;
      }
      this.#wait(socket, address);
      socket.on("close", onClose);
    });
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const address = this.#waiting.get(req.socket);
      this.#served(req.socket);
      // Kept alive, the socket waits for its next request's headers again.
      res.once("finish", () => {
        if (address !== undefined && !req.socket.destroyed) this.#wait(req.socket, address);
      });
    });
    // An upgraded socket is served for good: it keeps no listener of ours (an idle WebSocket's
    // memory is what a relay holds most of).
    server.on("upgrade", (req: IncomingMessage) => {
      this.#served(req.socket);
      req.socket.off("close", onClose);
    });
  }

  /** True for a socket refused when it connected. */
  refused(socket: Duplex): boolean {
    return this.#refused.has(socket);
  }

  #wait(socket: Duplex, address: string): void {
    if (this.#waiting.has(socket)) return;
    this.#waiting.set(socket, address);
    this.#byAddress.set(address, (this.#byAddress.get(address) ?? 0) + 1);
  }

  #served(socket: Duplex): void {
    const address = this.#waiting.get(socket);
    if (address === undefined) return;
    this.#waiting.delete(socket);
    const left = (this.#byAddress.get(address) ?? 1) - 1;
    if (left > 0) this.#byAddress.set(address, left);
    else this.#byAddress.delete(address);
  }
}

const NOT_FOUND = refusal(404, HttpCode.NotFound, "see docs/operations.md for the relay's routes");

/** What the relay's own server hands its requests and upgrades to. */
export interface OwnServerOptions {
  limits: ServerLimits;
  pending: PendingSockets;
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** The server `listen` creates: bounded, and answering every request with JSON. */
export function createOwnServer(options: OwnServerOptions): Server {
  const { pending } = options;
  const server = createServer(serverOptions(options.limits), (req, res) => {
    if (pending.refused(req.socket)) return void req.socket.destroy();
    const noHost = hostRefusal(req);
    if (noHost) return sendAnswer(res, noHost);
    void options.handleRequest(req, res).then((handled) => {
      if (!handled) sendAnswer(res, NOT_FOUND);
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const noHost = hostRefusal(req);
    if (pending.refused(socket)) socket.destroy();
    else if (noHost) answerSocket(socket, noHost);
    else options.handleUpgrade(req, socket, head);
  });
  server.on("clientError", answerClientError);
  pending.watch(server);
  return server;
}

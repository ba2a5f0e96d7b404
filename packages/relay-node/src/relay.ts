import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { ErrorCode, SUBPROTOCOL } from "@pubsubbud/protocol";
import {
  type Authenticate,
  type Broker,
  createMemoryBroker,
  createRelayCore,
  type Logger,
  namespaceError,
  originError,
  type RelayCore,
  type RelayLimits,
  silentLogger,
  socketNamespace,
  subprotocolError,
} from "@pubsubbud/relay-core";
import { WebSocket, WebSocketServer } from "ws";
import { createHttpHandler } from "./http.js";

/** Options of {@link createRelay}. */
export interface RelayOptions {
  /** The broker. @default the in-memory broker */
  broker?: Broker;
  /** Decides who may connect; see relay-core. @default everyone */
  authenticate?: Authenticate;
  limits?: Partial<RelayLimits>;
  logger?: Logger;
  /** Serve the live page at `/` and `/v1/stats` (they show message contents). @default true */
  livePage?: boolean;
  /** How often idle and stuck connections are swept, in ms. @default 1000 */
  sweepIntervalMs?: number;
  /**
   * Browser origins allowed to open a socket, e.g. `["https://app.example.com"]`, compared whole;
   * others get 403 before the upgrade. @default every origin
   */
  allowedOrigins?: readonly string[];
  /**
   * Request header your reverse proxy sets to the client's address (e.g. `x-real-ip`), used for
   * `limits.maxConnectionsPerIp`; the proxy must overwrite it, or clients could forge it.
   * @default the socket's address
   */
  clientIpHeader?: string;
}

/** A relay not bound to a port yet: mount it on your own server or call `listen`. */
export interface Relay {
  readonly core: RelayCore;
  /** Handles an HTTP `upgrade` on `/` or `/ns/<namespace>`; other paths get 404. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Handles the relay's HTTP routes; resolves false when the path is not one of them. */
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Starts a server of its own. @default host 127.0.0.1, port 8080 */
  listen(options?: { host?: string; port?: number }): Promise<RunningRelay>;
  /**
   * Graceful shutdown: every client is told to reconnect elsewhere after a jittered delay
   * (close 4100), then the broker closes. Resolves when sockets are closed or after `timeoutMs`.
   */
  close(timeoutMs?: number): Promise<void>;
}

/** A relay listening on its own port. */
export interface RunningRelay extends AsyncDisposable {
  readonly relay: Relay;
  readonly core: RelayCore;
  /** `http://host:port` */
  readonly url: string;
  /** `ws://host:port` (append `/ns/<namespace>` for a namespace other than `default`). */
  readonly wsUrl: string;
  readonly port: number;
  close(timeoutMs?: number): Promise<void>;
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  429: "Too Many Requests",
};

/** The client's address: the proxy's header when configured (its last value), else the socket's. */
function clientAddress(req: IncomingMessage, header: string | undefined): string | undefined {
  const value = header === undefined ? undefined : req.headers[header.toLowerCase()];
  const last = (Array.isArray(value) ? value.join(",") : value)?.split(",").pop()?.trim();
  return last || req.socket.remoteAddress;
}

function refuseUpgrade(
  socket: Duplex,
  status: number,
  message: string,
  code: string = ErrorCode.BadFrame,
): void {
  const body = JSON.stringify({ code, message });
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Creates a Node relay. Mount it on an existing server, or `listen` on a port of its own.
 * @example
 * const relay = createRelay();
 * server.on("upgrade", relay.handleUpgrade);
 * server.on("request", async (req, res) => { if (!(await relay.handleRequest(req, res))) app(req, res); });
 */
export function createRelay(options: RelayOptions = {}): Relay {
  const logger = options.logger ?? silentLogger;
  const core = createRelayCore({
    broker: options.broker ?? createMemoryBroker(),
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    logger,
    // Flush once per event-loop turn, after every readable socket was read: publishes that
    // arrived on many sockets leave as one batched write per recipient.
    scheduleFlush: setImmediate,
  });
  const wss = new WebSocketServer({
    noServer: true,
    // The protocol's own size check answers oversized frames with an error frame; ws cuts only
    // frames far past it (close 1009) so a hostile peer cannot make the relay buffer megabytes.
    maxPayload: core.limits.maxFrameBytes * 4,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const handleRequest = createHttpHandler({ core, livePage: options.livePage ?? true });
  const sweep = setInterval(() => core.sweep(), options.sweepIntervalMs ?? 1000);
  sweep.unref();
  let servers: Server[] = [];

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node hands an upgrade's socket over without an error listener: a client that resets it
    // (while being refused, say) would otherwise throw an uncaught ECONNRESET in the relay.
    socket.on("error", (error) => logger.debug("upgrade socket error", { error: String(error) }));
    const path = (req.url ?? "/").split("?")[0] as string;
    const namespace = socketNamespace(path);
    if (namespace === undefined)
      return refuseUpgrade(socket, 404, "connect to / or /ns/<namespace>");
    const invalid = namespaceError(namespace);
    if (invalid) return refuseUpgrade(socket, 400, invalid);
    const foreign = originError(req.headers.origin, options.allowedOrigins);
    if (foreign) return refuseUpgrade(socket, 403, foreign, ErrorCode.Forbidden);
    const refused = subprotocolError(req.headers["sec-websocket-protocol"]);
    if (refused) return refuseUpgrade(socket, 400, refused);
    const remote = clientAddress(req, options.clientIpHeader);
    const crowded = core.connectionRefusal(remote);
    if (crowded) return refuseUpgrade(socket, 429, crowded, ErrorCode.TooManyConnections);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = core.accept({
        namespace,
        remote,
        transport: {
          send: (text) => ws.send(text),
          sendThen: (text, written) => ws.send(text, () => written()),
          close: (code, reason) => ws.close(code, reason),
          bufferedAmount: () => ws.bufferedAmount,
        },
      });
      ws.on("message", (data: Buffer, isBinary) => {
        if (isBinary) connection.receive('{"type":"binary"}');
        else connection.receive(data.toString("utf8"), data.length);
      });
      ws.on("close", () => connection.closed());
      ws.on("error", (error) =>
        logger.debug("socket error", { session: connection.session, error: String(error) }),
      );
    });
  };

  const relay: Relay = {
    core,
    handleUpgrade,
    handleRequest,
    async listen({ host = "127.0.0.1", port = 8080 } = {}) {
      const server = createServer((req, res) => {
        handleRequest(req, res).then(
          (handled) => {
            if (!handled) {
              res.writeHead(404, { "content-type": "application/json" });
              res.end(
                JSON.stringify({
                  code: "not_found",
                  message: "see docs/operations.md for the relay's routes",
                }),
              );
            }
          },
          (error: unknown) => {
            logger.error("request failed", { error: String(error) });
            if (!res.headersSent) res.writeHead(500);
            res.end();
          },
        );
      });
      server.on("upgrade", handleUpgrade);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
      });
      servers.push(server);
      const address = server.address() as AddressInfo;
      const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
      const running: RunningRelay = {
        relay,
        core,
        port: address.port,
        url: `http://${shown}:${address.port}`,
        wsUrl: `ws://${shown}:${address.port}`,
        close: (timeoutMs) => relay.close(timeoutMs),
        [Symbol.asyncDispose]: () => relay.close(),
      };
      return running;
    },
    async close(timeoutMs = 10_000) {
      clearInterval(sweep);
      for (const server of servers) server.close();
      core.shutdown();
      const deadline = Date.now() + timeoutMs;
      while (
        [...wss.clients].some((ws) => ws.readyState !== WebSocket.CLOSED) &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const ws of wss.clients) ws.terminate();
      for (const server of servers) server.closeAllConnections();
      servers = [];
      await core.broker.close();
    },
  };
  return relay;
}

/**
 * Creates a relay and listens on a port of its own (port 0 picks a free one).
 * @example await using relay = await startRelay({ port: 0 });
 */
export async function startRelay(
  options: RelayOptions & { host?: string; port?: number } = {},
): Promise<RunningRelay> {
  const { host, port, ...relayOptions } = options;
  return createRelay(relayOptions).listen({ ...(host ? { host } : {}), port: port ?? 8080 });
}

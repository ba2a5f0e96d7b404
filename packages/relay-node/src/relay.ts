import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { SUBPROTOCOL } from "@pubsubbud/protocol";
import {
  type Authenticate,
  type Broker,
  createMemoryBroker,
  createRelayCore,
  type Logger,
  type RelayCore,
  type RelayLimits,
  silentLogger,
} from "@pubsubbud/relay-core";
import { WebSocket, WebSocketServer } from "ws";
import { createHttpHandler } from "./http.js";
import { boundHostName, createLivePageAccess, type LivePageOptions } from "./live-page-access.js";
import { LiveHistory } from "./live-history.js";
import { createOwnServer, PendingSockets, type ServerLimits, serverLimits } from "./own-server.js";
import { createUpgradeHandler } from "./upgrade.js";

/** Options of {@link createRelay}. */
export interface RelayOptions {
  /** The broker. @default the in-memory broker */
  broker?: Broker;
  /** Decides who may connect; see relay-core. @default everyone */
  authenticate?: Authenticate;
  limits?: Partial<RelayLimits>;
  logger?: Logger;
  /**
   * Serve the live page at `/` and its data at `/v1/stats` (every namespace's connections and
   * recent messages, private inboxes left out). `true` or its access rules; with `authenticate`
   * set it needs `adminToken`. @default false
   */
  livePage?: boolean | LivePageOptions;
  /** How often idle and stuck connections are swept, in ms. @default 1000 */
  sweepIntervalMs?: number;
  /**
   * Browser origins allowed to open a socket or publish over HTTP, e.g.
   * `["https://app.example.com"]`, compared whole; others get 403. @default every origin
   */
  allowedOrigins?: readonly string[];
  /**
   * Request header your reverse proxy sets to the client's address (e.g. `x-real-ip`), used for
   * `limits.maxConnectionsPerIp`; the proxy must overwrite it, or clients could forge it.
   * @default the socket's address
   */
  clientIpHeader?: string;
  /** Bounds of the server `listen` creates (timeouts, sockets per address). @default DEFAULT_SERVER_LIMITS */
  server?: Partial<ServerLimits>;
}

/** A relay not bound to a port yet: mount it on your own server or call `listen`. */
export interface Relay {
  readonly core: RelayCore;
  /** Handles an HTTP `upgrade` on `/` or `/ns/<namespace>`; other paths get 404. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Handles the relay's HTTP routes; resolves false when the path is not one of them. */
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Starts a server of its own, bounded by `options.server`. @default host 127.0.0.1, port 8080 */
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
    // The relay keeps its own set of open sockets, without a closure per socket as ws's has.
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const boundHosts = new Set<string>();
  const livePage = options.livePage
    ? createLivePageAccess(
        options.livePage === true ? {} : options.livePage,
        options.authenticate !== undefined,
        boundHosts,
      )
    : undefined;
  const { allowedOrigins, clientIpHeader } = options;
  const sweepIntervalMs = options.sweepIntervalMs ?? 1000;
  // The live page charts the last minutes: one sample per sweep, kept only when it is served.
  const history = livePage ? new LiveHistory(sweepIntervalMs) : undefined;
  const handleRequest = createHttpHandler({ core, logger, livePage, history, allowedOrigins });
  const limits = serverLimits(options.server);
  // Behind a proxy every socket comes from the proxy: there the proxy bounds slow clients.
  const pending = new PendingSockets(
    clientIpHeader === undefined ? limits.maxPendingPerIp : Number.POSITIVE_INFINITY,
  );
  const sockets = new Set<WebSocket>();
  const handleUpgrade = createUpgradeHandler({
    core,
    wss,
    sockets,
    logger,
    allowedOrigins,
    clientIpHeader,
  });
  const sweep = setInterval(() => {
    core.sweep();
    history?.sample(core.stats());
  }, sweepIntervalMs);
  sweep.unref();
  let servers: Server[] = [];

  const relay: Relay = {
    core,
    handleUpgrade,
    handleRequest,
    async listen({ host = "127.0.0.1", port = 8080 } = {}) {
      const server = createOwnServer({ limits, pending, handleRequest, handleUpgrade });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
      });
      servers.push(server);
      const name = boundHostName(host);
      if (name) boundHosts.add(name);
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
        [...sockets].some((ws) => ws.readyState !== WebSocket.CLOSED) &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const ws of sockets) ws.terminate();
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

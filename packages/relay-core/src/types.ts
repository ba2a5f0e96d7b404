/** What relay-core needs from a runtime's socket. */
/** One accepted socket, as the runtime adapter sees it. */
export interface Connection {
  readonly session: string;
  /** Feed the text of each inbound frame; `byteLength` lets the size check skip re-encoding. */
  receive(text: string, byteLength?: number): void;
  /** Tell the relay the socket closed. */
  closed(): void;
}

export interface Transport {
  /** Sends one text frame. */
  send(text: string): void;
  /**
   * Sends one text frame and calls `written` once the socket wrote it (or failed), so a replay
   * goes out no faster than the client reads it. Runtimes that cannot tell leave it out.
   */
  sendThen?(text: string, written: () => void): void;
  /** Closes the socket with a code and a reason (at most 123 bytes). */
  close(code: number, reason: string): void;
  /** Bytes handed to `send` that the socket has not written yet. */
  bufferedAmount(): number;
  /**
   * Hears a ping's receive credit (`rx`: characters the client has received so far), for a
   * runtime whose sockets cannot report `bufferedAmount` (see docs/protocol.md "Receive credit").
   */
  credit?(received: number): void;
  /**
   * Called whenever the session's durable state changes (after `hello`, subscribe, unsubscribe,
   * refresh), so a runtime that evicts the relay's memory (a hibernating Durable Object) can
   * store it beside the socket and `restore` the session later.
   */
  persist?(snapshot: SessionSnapshot): void;
}

/** What it takes to rebuild an open session after the relay's memory was lost. */
export interface SessionSnapshot {
  session: string;
  namespace: string;
  client: string;
  /** The session's inbox channel (older snapshots lack it: it is derived again). */
  inbox?: string;
  identity: Identity;
  /** `[id, pattern]` pairs, in subscription order. */
  subscriptions: Array<[string, string]>;
  /** The client's address, counted for `limits.maxConnectionsPerIp` again after a restore. */
  remote?: string;
  /**
   * Taken while the connection's replay was still going out: what it had not sent was lost with
   * the memory, so a restore asks the client to resume (4102) instead of going on live.
   */
  catchingUp?: true;
}

/** Channel patterns (fnmatch, like subscriptions) a connection may use in its namespace. */
export interface Grants {
  /** Channels it may receive: every delivery and replay is filtered by these. */
  subscribe: string[];
  /** Channels it may publish on. */
  publish: string[];
}

/** What a relay knows about an authenticated connection. */
export interface Identity {
  /** The user the token belongs to, if any: stamped on its publishes as header `sender`. */
  user?: string;
  /**
   * When the token expires, in ms since the Unix epoch. Past it (plus `limits.tokenGraceMs`)
   * without a `refresh`, the connection is closed with 4401.
   */
  expiresAt?: number;
  /** What the connection may do. @default everything (no grants checked) */
  grants?: Grants;
}

/** The input of the `authenticate` hook. */
export interface AuthRequest {
  token: string | undefined;
  namespace: string;
  client: string;
}

/**
 * Decides whether a connection may use a namespace. Return an identity to accept, `false` or
 * throw to refuse (the client gets `unauthorized` and close 4401; the message of a thrown
 * `TokenError` is included, other errors are not shown to the client).
 */
export type Authenticate = (request: AuthRequest) => Identity | false | Promise<Identity | false>;

/** A structured logger; relay-core itself never writes to the console. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything: the default. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** What a relay counts (shown in stats and /metrics). */
export interface RelayCounters {
  framesReceived: number;
  framesSent: number;
  published: number;
  duplicates: number;
  fannedOut: number;
  deliveries: number;
  replayed: number;
  resumesRecovered: number;
  resumesLost: number;
  connectionsOpened: number;
}

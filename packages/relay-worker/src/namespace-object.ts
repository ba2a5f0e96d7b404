import { DurableObject } from "cloudflare:workers";
import { BINARY_FRAME, CloseCode, ErrorCode, PING, PONG, SUBPROTOCOL } from "@pubsubbud/protocol";
import {
  type Authenticate,
  type AuthRequest,
  type Connection,
  createRelayCore,
  DEFAULT_RELAY_LIMITS,
  type Identity,
  type Logger,
  type RelayCore,
  type Transport,
} from "@pubsubbud/relay-core";
import {
  admitUpgrade,
  publishOverHttp,
  redactSecrets,
  refusal,
} from "@pubsubbud/relay-core/internal";
import { upgradeOf } from "./admission.js";
import { authFromEnv, configFromEnv, type Env, originsFromEnv } from "./config.js";
import { CreditMeter } from "./credit.js";
import { HandshakeAlarm } from "./handshake-alarm.js";
import { SessionStore } from "./session-store.js";
import { createSqliteBroker } from "./sqlite-broker.js";

/** Errors and warnings go to the Workers console (`wrangler tail`, the dashboard's logs). */
const line = (level: string, message: string, fields?: Record<string, unknown>) =>
  redactSecrets(JSON.stringify({ level, message, ...fields }));
export const workerLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => console.warn(line("warn", message, fields)),
  error: (message, fields) => console.error(line("error", message, fields)),
};

/** The header the Worker uses to tell the object which namespace it is. */
export const NAMESPACE_HEADER = "x-pubsubbud-namespace";

/**
 * One namespace: relay-core over the WebSocket Hibernation API, with the namespace log in the
 * object's SQLite storage. Each socket's session survives hibernation (SessionStore: the
 * attachment and the `pubsubbud_subs` table); the subscription index is rebuilt from them on
 * the first event after a wake. No intervals: an idle object may sleep; the only alarm is set
 * while a connection has not completed its `hello` (HandshakeAlarm), to close it in time.
 */
export class NamespaceObject extends DurableObject<Env> {
  #core: RelayCore | undefined;
  /** Backlog under which a replay goes on: half the slow-consumer cut. */
  #resumeBelow = 0;
  readonly #connections = new Map<WebSocket, Connection>();
  #sessions: SessionStore | undefined;
  #handshakes: HandshakeAlarm | undefined;

  /**
   * Decides who may connect: relay-core's hook, called on `hello`, `refresh` and HTTP publishes.
   * By default JWT tokens per the vars (JWT_SECRET…, docs/security.md), anonymous only with
   * ANONYMOUS=all. Override it in a subclass (and export that class as the Durable Object).
   * @example
   * export class Relay extends NamespaceObject {
   *   override authenticate({ token }: AuthRequest) { return token === this.env.TOKEN && {}; }
   * }
   */
  authenticate(request: AuthRequest): Identity | false | Promise<Identity | false> {
    this.#auth ??= authFromEnv(this.env);
    return this.#auth(request);
  }

  #auth: Authenticate | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // The runtime answers pings itself, without waking a hibernating object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** Work for the next turn: writing the publishes, then flushing what they delivered. */
  #queued: Array<() => void> = [];

  /**
   * Runs `task` in the next turn, with everything else queued until then: publishes that reach
   * the object together are written in one turn (one storage commit) and their deliveries leave
   * in that same turn, as one batch per socket. A 0 ms timer, not a microtask, so the events
   * that arrive meanwhile join; it fires at once, so it never keeps an idle object awake.
   */
  readonly #soon = (task: () => void): void => {
    if (this.#queued.push(task) === 1) setTimeout(this.#runQueued, 0);
  };

  readonly #runQueued = (): void => {
    // Tasks queued while these run (the flush after a write) run in this turn too.
    const tasks = this.#queued;
    for (let i = 0; i < tasks.length; i++)
      try {
        (tasks[i] as () => void)();
      } catch (error) {
        workerLogger.error("queued work failed", { error: String(error) });
      }
    this.#queued = [];
  };

  /** The relay of this object, built on first use after a start or a wake. */
  #relay(): RelayCore {
    if (this.#core) return this.#core;
    const { retention, limits } = configFromEnv(this.env);
    this.#resumeBelow = (limits.maxBufferedBytes ?? DEFAULT_RELAY_LIMITS.maxBufferedBytes) / 2;
    const core = createRelayCore({
      // Publishes that arrive together are written in one turn: one storage commit for them all.
      broker: createSqliteBroker(this.ctx.storage.sql, retention, Date.now, this.#soon),
      // The sweep runs only from the handshake alarm, for 4003 and expired tokens. Idle sockets
      // stay: pings are answered by the runtime without reaching the relay (so `lastSeen` would
      // lie), and the platform closes dead sockets.
      limits: { ...limits, idleTimeoutMs: Number.POSITIVE_INFINITY },
      logger: workerLogger,
      authenticate: (request) => this.authenticate(request),
      scheduleFlush: this.#soon,
    });
    this.#core = core;
    const sessions = new SessionStore(this.ctx.storage.sql);
    this.#sessions = sessions;
    this.#handshakes = new HandshakeAlarm(core.limits.handshakeTimeoutMs, (at) => {
      this.ctx.storage.setAlarm(at).catch((error: unknown) => {
        workerLogger.error("could not set the handshake alarm", { error: String(error) });
      });
    });
    const sockets = this.ctx.getWebSockets();
    const snapshots = sessions.load(sockets);
    for (const ws of sockets) {
      const snapshot = snapshots.get(ws);
      if (snapshot)
        this.#connections.set(
          ws,
          core.restore({ snapshot, transport: this.#transport(ws, false) }),
        );
      else this.#closeHandshaking(ws, core.limits.handshakeTimeoutMs);
    }
    return core;
  }

  /**
   * A socket found after a wake without a session: past the handshake timeout it sent no hello
   * in time (4003, as the sweep would have said); before it, the wake may have lost its hello,
   * so the client reconnects (4002) and resumes.
   */
  #closeHandshaking(ws: WebSocket, timeoutMs: number): void {
    const acceptedAt = this.#sessions?.acceptedAt(ws);
    if (acceptedAt !== undefined && Date.now() - acceptedAt > timeoutMs)
      ws.close(CloseCode.HandshakeTimeout, "no hello in time");
    else ws.close(CloseCode.InternalError, "session lost during the handshake");
  }

  /** `fresh`: accepted by this object now, not restored after a wake (see CreditMeter). */
  #transport(ws: WebSocket, fresh: boolean): Transport {
    // workerd's sockets report no buffered amount: the client's receive credit stands in for it.
    const meter = new CreditMeter(fresh, this.#resumeBelow);
    const send = (text: string) => {
      meter.sent(text.length);
      ws.send(text);
    };
    return {
      send,
      sendThen: (text, written) => {
        send(text);
        meter.whenDrained(written);
      },
      close: (code, reason) => ws.close(code, reason),
      bufferedAmount: () => meter.backlog,
      credit: (received) => meter.credit(received),
      persist: (snapshot) => {
        // The first snapshot comes when the hello completed.
        this.#handshakes?.done(ws);
        this.#sessions?.save(ws, snapshot);
      },
    };
  }

  override async fetch(request: Request): Promise<Response> {
    try {
      return await this.#answer(request);
    } catch (error) {
      workerLogger.error("request failed", { error: String(error) });
      const { status, body } = refusal(500, ErrorCode.Internal, "the relay failed on this request");
      return Response.json(body, { status });
    }
  }

  async #answer(request: Request): Promise<Response> {
    const namespace = request.headers.get(NAMESPACE_HEADER) ?? "default";
    const core = this.#relay();
    if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") {
      // The count per address is per namespace (one object sees one); snapshots carry the
      // address across hibernation.
      const upgrade = upgradeOf(request);
      const admission = admitUpgrade(upgrade, {
        allowedOrigins: originsFromEnv(this.env),
        connections: core,
      });
      if (!admission.admitted)
        return Response.json(admission.answer.body, { status: admission.answer.status });
      const remote = upgrade.remote;
      const pair = new WebSocketPair();
      const [client, server] = [pair[0], pair[1]];
      // Tagged with the namespace, so operators can find its sockets with getWebSockets(tag).
      this.ctx.acceptWebSocket(server, [namespace]);
      const connection = core.accept({
        namespace,
        remote,
        transport: this.#transport(server, true),
      });
      this.#connections.set(server, connection);
      // The core stamps the same (frozen) clock: its sweep and this deadline agree.
      const now = Date.now();
      this.#sessions?.accepted(server, now);
      this.#handshakes?.accepted(server, now);
      const offered = request.headers.get("Sec-WebSocket-Protocol");
      return new Response(null, {
        status: 101,
        webSocket: client,
        headers: offered ? { "Sec-WebSocket-Protocol": SUBPROTOCOL } : {},
      });
    }
    const answer = await publishOverHttp(
      core,
      { namespace, header: (name) => request.headers.get(name), body: request.body },
      { allowedOrigins: originsFromEnv(this.env) },
    );
    return Response.json(answer.body, { status: answer.status });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#relay();
    const connection = this.#connections.get(ws);
    if (!connection) {
      ws.close(CloseCode.InternalError, "unknown socket");
      return;
    }
    connection.receive(typeof message === "string" ? message : BINARY_FRAME);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#forget(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed by the runtime's automatic reply.
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#forget(ws);
  }

  /** Closes, by relay-core's sweep, the connections that sent no `hello` in time (4003). */
  override async alarm(): Promise<void> {
    const core = this.#relay();
    const now = Date.now();
    core.sweep(now);
    this.#handshakes?.fired(now);
  }

  #forget(ws: WebSocket): void {
    this.#relay();
    this.#connections.get(ws)?.closed();
    this.#connections.delete(ws);
    this.#sessions?.forget(ws);
    this.#handshakes?.done(ws);
  }
}

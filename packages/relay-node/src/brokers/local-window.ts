/**
 * Relay-local windows for brokers without a shared log (MQTT, RabbitMQ): per subscribed namespace,
 * a bounded log of what this instance received from the broker, in the broker's order. A
 * namespace stays subscribed for a linger after its last client left, so a client that comes
 * back to the same instance can still resume.
 *
 * The broker's feed is not trusted to be complete: every relay instance numbers what it publishes
 * (feed-sequence.ts), and a window that sees a number skipped starts a new epoch and tells its
 * listeners (a gap), so no loss is silent. Dedupe runs on the feed too, keyed by
 * {@link dedupeKey} and kept across epochs: a retried id, through whichever instance, is
 * delivered once to the subscribers of every instance that saw its first copy.
 */
import type { Position } from "@pubsubbud/protocol";
import {
  type BrokerListener,
  dedupeKey,
  type LogMessage,
  type LogRetention,
  type PublishInput,
  type PublishOutcome,
  type Publisher,
  PublishUncertainError,
  type StopListening,
} from "@pubsubbud/relay-core";
import { MemoryLog, randomId } from "@pubsubbud/relay-core/internal";
import { Deadlines } from "./deadlines.js";
import {
  formatStamp,
  parseStamp,
  type Stamp,
  SequenceStamper,
  SequenceTracker,
} from "./feed-sequence.js";
import { type Echo, OwnEchoes } from "./own-echoes.js";
import { type BrokerCommonOptions, DedupeWindow, type Listeners } from "./shared.js";

export interface LocalWindowsOptions {
  retention: LogRetention;
  lingerMs: number;
  listeners: Listeners;
  /** How long a publish waits for the broker's acknowledgement and its own copy. */
  publishTimeoutMs: number;
  /** Publishes on their way (sent, own copy not back) at most; more wait their turn. */
  maxOnTheirWay: number;
  /** True for an error that proves the broker did not take the message (`publish_failed`). */
  refused(error: unknown): boolean;
  /** Starts the broker subscription of a namespace. */
  subscribe(namespace: string): Promise<void>;
  /** Ends it (after the linger). */
  unsubscribe(namespace: string): Promise<void>;
  /** Sends a tail marker (feed-sequence.ts) to the namespace's `TAIL_CHANNEL`; best effort. */
  sendTail(namespace: string, stamp: string): void;
  log?: BrokerCommonOptions["log"];
}

/** One namespace as this instance sees it: the replayable log, the dedupe keys, the streams. */
class NamespaceWindow {
  log: MemoryLog;
  readonly dedupe: DedupeWindow;
  readonly streams = new SequenceTracker();
  /**
   * The highest number appended from each stream, kept across epochs: a lower one arriving later
   * (the client library's resend after a reconnect) came after newer messages, so appending it
   * would deliver out of order. Its loss was a hole, announced as a gap.
   */
  readonly #highest = new Map<string, number>();
  readonly #retention: LogRetention;

  constructor(retention: LogRetention) {
    this.#retention = retention;
    this.log = this.#fresh();
    this.dedupe = new DedupeWindow(retention);
  }

  #fresh(): MemoryLog {
    return new MemoryLog(randomId(12), this.#retention, Date.now);
  }

  /** The window can no longer prove it holds every message: resumes now answer `recovered:false`. */
  newEpoch(): void {
    this.log = this.#fresh();
  }

  /**
   * Appends a message with a key not seen before; its offset is remembered for later copies. The
   * log dedupes too (within its epoch): then the message is undefined and the offset the first's.
   */
  /** True when a message with this stamp would come after a newer one of its stream. */
  behind(stamp: Stamp | undefined): boolean {
    return stamp !== undefined && stamp.n <= (this.#highest.get(stamp.stream) ?? 0);
  }

  append(
    input: PublishInput,
    key: string,
    stamp: Stamp | undefined,
  ): { message?: LogMessage; offset: string } {
    if (stamp) {
      this.#highest.delete(stamp.stream);
      this.#highest.set(stamp.stream, stamp.n);
      // Streams are few (an instance's own, restarted ones): the oldest are forgotten.
      if (this.#highest.size > 1024)
        this.#highest.delete(this.#highest.keys().next().value as string);
    }
    const { message, outcome } = this.log.append(input);
    this.dedupe.remember(key, outcome.offset);
    return message ? { message, offset: outcome.offset } : { offset: outcome.offset };
  }
}

export class LocalWindows {
  readonly #windows = new Map<string, NamespaceWindow>();
  readonly #lingering = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #stamper = new SequenceStamper();
  readonly #echoes: OwnEchoes;
  readonly #options: LocalWindowsOptions;
  readonly #deadlines: Deadlines;
  #lastHoleLog = 0;
  #holesUnlogged = 0;

  readonly #tails: ReturnType<typeof setInterval>;

  constructor(options: LocalWindowsOptions) {
    this.#options = options;
    this.#deadlines = new Deadlines(options.publishTimeoutMs);
    this.#echoes = new OwnEchoes(options.maxOnTheirWay);
    this.#tails = setInterval(() => {
      for (const { namespace, stamp } of this.#stamper.dueTails())
        options.sendTail(namespace, formatStamp(stamp));
    }, 500);
    this.#tails.unref();
  }

  /** `Broker.listen`: the first listener subscribes the namespace, the last one lets it linger. */
  async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
    const { listeners } = this.#options;
    if (listeners.add(namespace, listener)) {
      try {
        await this.open(namespace);
      } catch (error) {
        listeners.remove(namespace, listener);
        throw error;
      }
    }
    return async () => {
      if (listeners.remove(namespace, listener)) this.closeLater(namespace);
    };
  }

  /** Makes sure the namespace is subscribed (the first listener arrived). */
  async open(namespace: string): Promise<void> {
    const linger = this.#lingering.get(namespace);
    if (linger) {
      clearTimeout(linger);
      this.#lingering.delete(namespace);
      return;
    }
    if (this.#windows.has(namespace)) return;
    const window = new NamespaceWindow(this.#options.retention);
    this.#windows.set(namespace, window);
    try {
      await this.#options.subscribe(namespace);
      window.streams.listening(Date.now());
    } catch (error) {
      this.#windows.delete(namespace);
      throw error;
    }
  }

  /** The last listener left: unsubscribe after the linger unless one comes back. */
  closeLater(namespace: string): void {
    const timer = setTimeout(() => {
      this.#lingering.delete(namespace);
      if (this.#options.listeners.has(namespace)) return;
      this.#windows.delete(namespace);
      this.#options.unsubscribe(namespace).catch(() => {});
    }, this.#options.lingerMs);
    timer.unref();
    this.#lingering.set(namespace, timer);
  }

  /**
   * A message from the broker, with the stamp its metadata carried (undefined from a foreign
   * producer): checked for a hole in its stream, dropped when its key was seen (a retry, a
   * redelivery), else appended and handed to the listeners.
   */
  receive(namespace: string, input: PublishInput, stampHeader: string | undefined): void {
    const window = this.#windows.get(namespace);
    if (!window) return;
    const own = this.#follow(namespace, window, stampHeader, false);
    const key = dedupeKey(input);
    const first = window.dedupe.get(key);
    if (first !== undefined) {
      this.#echoes.settle(key, first, undefined);
      return;
    }
    // Behind a newer number of its stream and never seen: a resend after a reconnect, whose
    // hole was announced when the newer one came. Dropped rather than delivered out of order;
    // its publisher, still waiting, hears uncertain.
    const stamp = parseStamp(stampHeader);
    if (window.behind(stamp)) return;
    const { message, offset } = window.append(input, key, stamp);
    this.#echoes.settle(key, offset, message ? own : undefined);
    if (message) this.#options.listeners.message(namespace, message);
  }

  /** A tail marker from the broker: the stream's last number, which this window should have seen. */
  receiveTail(namespace: string, stampHeader: string | undefined): void {
    const window = this.#windows.get(namespace);
    if (window) this.#follow(namespace, window, stampHeader, true);
  }

  /**
   * Follows the stamp's stream: own copies overtaken are answered, a hole becomes a gap. Returns
   * the number when the stamp is this instance's own.
   */
  #follow(
    namespace: string,
    window: NamespaceWindow,
    header: string | undefined,
    tail: boolean,
  ): number | undefined {
    const stamp = parseStamp(header);
    if (!stamp) return undefined;
    const own = this.#stamper.owns(namespace, stamp.stream);
    // A tail marker stands behind its number, a message on it.
    if (own) this.#echoes.overtaken(namespace, stamp.n + (tail ? 1 : 0));
    if (window.streams.observe(stamp, tail) === "hole") this.#hole(namespace, window, stamp);
    return own ? stamp.n : undefined;
  }

  /** The broker dropped messages of this stream: the window starts over and its clients resume. */
  #hole(namespace: string, window: NamespaceWindow, stamp: Stamp): void {
    window.newEpoch();
    this.#holesUnlogged++;
    const now = Date.now();
    // One line per 10 s at most: an overflowing queue makes holes by the hundred.
    if (now - this.#lastHoleLog >= 10_000) {
      this.#options.log?.("warn", "the broker dropped messages on their way to this relay", {
        namespace,
        stream: stamp.stream,
        holes: this.#holesUnlogged,
        fix: "raise the broker's per-session queue limit (docs/operations.md)",
      });
      this.#lastHoleLog = now;
      this.#holesUnlogged = 0;
    }
    this.#options.listeners.gap(namespace);
  }

  /** The offset of the message with this key, when this instance saw it inside the dedupe window. */
  seen(namespace: string, key: string): string | undefined {
    return this.#windows.get(namespace)?.dedupe.get(key);
  }

  /**
   * Publishes a message: `send` hands it to the broker with its stamp. Resolves with the offset its
   * own copy gets here (so this instance's subscribers and the ack agree; `""` when the namespace
   * is not subscribed here), or as a duplicate when a copy with its key was already seen. Throws
   * what `send` threw when the broker refused the message, and {@link PublishUncertainError} when
   * the broker may have taken it without this instance seeing it come back. A publish waiting for
   * its turn when its publisher is gone is not sent ({@link OwnEchoes.turn}).
   */
  async publish(
    namespace: string,
    input: PublishInput,
    send: (stamp: string) => Promise<unknown>,
    publisher?: Publisher,
  ): Promise<PublishOutcome> {
    const key = dedupeKey(input);
    const seen = this.seen(namespace, key);
    if (seen !== undefined) return { offset: seen, duplicate: true };
    // One timer for every pending publish (Deadlines), not one each.
    const timeout = this.#deadlines.start();
    const deadline = new Promise<never>((_, reject) =>
      timeout.onPass(() =>
        reject(
          new PublishUncertainError(
            `no acknowledgement and own copy from the broker within ${this.#options.publishTimeoutMs} ms`,
          ),
        ),
      ),
    );
    deadline.catch(() => {});
    const listening = this.#windows.has(namespace);
    let echo: Echo | undefined;
    try {
      if (listening) await this.#echoes.turn(deadline, publisher);
      const stamp = this.#stamper.next(namespace);
      if (listening) echo = this.#echoes.wait(namespace, key, stamp.n);
      await this.#send(namespace, key, stamp, send, deadline);
      // Without a window here the message has no position this instance could name: "" is the
      // protocol's "no position" (docs/protocol.md, publish → ack), not a made-up offset.
      return echo ? await Promise.race([echo.copy, deadline]) : { offset: "", duplicate: false };
    } catch (error) {
      // A copy with this key arrived meanwhile (the first copy of a retried id, through another
      // instance): the id is delivered here, whatever became of this attempt.
      const arrived = this.seen(namespace, key);
      if (arrived !== undefined) return { offset: arrived, duplicate: true };
      throw error;
    } finally {
      timeout.done();
      echo?.cancel();
    }
  }

  /** Hands the message to the broker; a refusal gives its number back, anything else is uncertain. */
  async #send(
    namespace: string,
    key: string,
    stamp: Stamp,
    send: (stamp: string) => Promise<unknown>,
    deadline: Promise<never>,
  ): Promise<void> {
    try {
      await Promise.race([send(formatStamp(stamp)), deadline]);
    } catch (error) {
      if (error instanceof PublishUncertainError) throw error;
      if (this.#options.refused(error)) {
        this.#stamper.release(namespace, stamp);
        throw error;
      }
      throw new PublishUncertainError(
        `the broker connection failed before it confirmed message ${key}: ${String(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * The broker lost this relay's subscriptions (a server restart, an exclusive queue gone): every
   * window starts a new epoch and follows the streams afresh, and once `resubscribe` is back the
   * namespaces' clients are told to resume (they get `recovered:false`). Dedupe keys are kept.
   */
  restart(resubscribe: (namespace: string) => Promise<void>, onError: (error: unknown) => void) {
    for (const [namespace, window] of this.#windows) {
      window.newEpoch();
      window.streams.listening(undefined);
      resubscribe(namespace)
        .then(() => window.streams.listening(Date.now()), onError)
        .finally(() => this.#options.listeners.gap(namespace));
    }
  }

  /** The window's head; a relay-local window exists only while the relay listens (see since). */
  head(namespace: string): Position {
    const window = this.#windows.get(namespace);
    if (!window)
      throw new Error(
        `no relay-local window for namespace ${namespace}: listen to it first (a broker without a shared log keeps history only while listening)`,
      );
    return window.log.head();
  }

  since(namespace: string, position: Position): LogMessage[] | undefined {
    return this.#windows.get(namespace)?.log.since(position);
  }

  has(namespace: string): boolean {
    return this.#windows.has(namespace);
  }

  clear(): void {
    clearInterval(this.#tails);
    for (const timer of this.#lingering.values()) clearTimeout(timer);
    this.#lingering.clear();
    this.#windows.clear();
  }
}

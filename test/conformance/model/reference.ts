/**
 * The reference model of the protocol's delivery promise, pure TypeScript without I/O: the
 * clients and their subscriptions, the namespace log (publishes with their fates), and from those
 * what each subscription must, may and must not receive, in which order, and when a gap is allowed.
 *
 * Time is a tick counter the driver advances at every event it causes (a publish issued, an ack,
 * a confirmed subscription, an unsubscribe, a cut). A message is "in the log" somewhere between
 * the tick it could first have entered (`logFrom`) and its ack; a subscription listens from the
 * tick its `ready` resolved until it ended. Where those intervals only partly overlap, the model
 * cannot know the outcome and accepts either (`maybe`); everywhere else it is exact.
 */
import { delivers } from "./match.js";

/** What a target promises, as the model needs it (see targets.ts). */
export interface TargetTraits {
  readonly instances: number;
  /** Every subscriber sees one order for concurrent publishers too. */
  readonly totalOrder: boolean;
  /** The log is shared by every instance: a resume on any of them recovers. */
  readonly sharedOffsets: boolean;
  /** A client resuming on a restarted instance still recovers (the log outlived the relay). */
  readonly restartKeepsHistory: boolean;
}

export type Fate = "pending" | "acked" | "refused" | "abandoned";

export interface ModelMessage {
  readonly id: string;
  readonly channel: string;
  /** The publishing client's name. */
  readonly publisher: string;
  /** Position among its publisher's publishes. */
  readonly seq: number;
  readonly issued: number;
  /** Earliest tick it may have entered the log: a publish queued while cut goes out on resume. */
  logFrom: number;
  acked?: number;
  offset?: string;
  fate: Fate;
  /** Issued while its publisher was cut: sent only after the publisher's own resume. */
  readonly queued: boolean;
  /** A quiescence marker of the driver, on its publisher's own inbox. */
  readonly marker: boolean;
}

export interface ModelSubscription {
  readonly key: string;
  readonly pattern: string;
  readonly from: number;
  until?: number;
  /** The driver's own inbox subscription that carries its markers (never unsubscribed). */
  readonly hidden: boolean;
  /**
   * Older messages may come too: it was made while cut (the resume replays the window for it,
   * docs/protocol.md §8), or while messages were in flight. Everything from `from` on must.
   */
  readonly early: boolean;
}

export type ClientStatus = "open" | "cut" | "closed";

export interface ModelClient {
  readonly name: string;
  readonly slot: number;
  /** The client's inbox channel, as its relay named it in welcome. */
  readonly inbox: string;
  readonly instance: number;
  status: ClientStatus;
  readonly subs: ModelSubscription[];
  /** Messages acked before this tick must have arrived: set when its last marker was acked. */
  due: number;
  /** Tick intervals in which a `gap` event is an allowed outcome. */
  readonly gapWindows: Array<[number, number]>;
  /** While cut: whether its resume may end in a gap, and since when. */
  cut?: { since: number; instanceEmptied: boolean; historyLost: boolean };
  nextSeq: number;
  nextSub: number;
}

/** How a message relates to a subscription. */
export type Expectation = "must" | "maybe" | "never";

export class ReferenceModel {
  readonly traits: TargetTraits;
  readonly clients: ModelClient[] = [];
  readonly messages: ModelMessage[] = [];
  readonly #byId = new Map<string, ModelMessage>();
  #tick = 0;
  #names = 0;
  #ids = 0;
  /** Executed commands, for the figures of a run. */
  steps = 0;
  /**
   * Tick of the last restart that lost the log (memory broker, relay-local windows): the dedupe
   * memory went with it, so an id acknowledged before it is a new message when sent again.
   */
  historyLostAt = 0;

  constructor(traits: TargetTraits) {
    this.traits = traits;
  }

  /** The current tick, for events the driver observes (a gap event carries it). */
  get now(): number {
    return this.#tick;
  }

  /** Advances time: every event the driver causes gets its own tick. */
  tick(): number {
    return ++this.#tick;
  }

  /** The live client in a slot, if any. */
  inSlot(slot: number): ModelClient | undefined {
    return this.clients.find((c) => c.slot === slot && c.status !== "closed");
  }

  live(): ModelClient[] {
    return this.clients.filter((c) => c.status !== "closed");
  }

  open(): ModelClient[] {
    return this.clients.filter((c) => c.status === "open");
  }

  message(id: string): ModelMessage | undefined {
    return this.#byId.get(id);
  }

  /** A fresh client name (c1, c2, …): each incarnation of a slot is a new client. */
  nextName(): string {
    return `c${++this.#names}`;
  }

  connect(name: string, slot: number, instance: number, inbox: string): ModelClient {
    const client: ModelClient = {
      name,
      slot,
      inbox,
      instance,
      status: "open",
      subs: [],
      due: 0,
      gapWindows: [],
      nextSeq: 0,
      nextSub: 0,
    };
    this.clients.push(client);
    return client;
  }

  /**
   * Records a subscription whose `ready` just resolved (`racing`: while messages were in flight),
   * or, on a cut client, one that waits for its resume: it listens from the cut on.
   */
  subscribed(
    client: ModelClient,
    pattern: string,
    options: { hidden?: boolean; racing?: boolean } = {},
  ): ModelSubscription {
    const early = client.cut !== undefined || options.racing === true;
    const from = client.cut?.since ?? this.tick();
    const key = `${client.name}/s${++client.nextSub}`;
    const sub = { key, pattern, from, hidden: options.hidden === true, early };
    client.subs.push(sub);
    return sub;
  }

  /** Ends a subscription; on a cut client it ended with the cut (the resume will not list it). */
  unsubscribed(client: ModelClient, sub: ModelSubscription): void {
    sub.until = client.cut?.since ?? this.tick();
  }

  /** Records a publish as it is handed to the client; `id` defaults to the next m<n>. */
  issue(publisher: ModelClient, channel: string, marker = false): ModelMessage {
    const issued = this.tick();
    const queued = publisher.status === "cut";
    const message: ModelMessage = {
      id: `m${++this.#ids}`,
      channel,
      publisher: publisher.name,
      seq: publisher.nextSeq++,
      issued,
      // A queued publish waits in the client until its resume; `resumed` moves this on.
      logFrom: issued,
      fate: "pending",
      queued,
      marker,
    };
    this.messages.push(message);
    this.#byId.set(message.id, message);
    return message;
  }

  acked(message: ModelMessage, offset: string): void {
    message.acked = this.tick();
    message.offset = offset;
    message.fate = "acked";
  }

  refused(message: ModelMessage): void {
    message.fate = "refused";
  }

  /** The client was closed before the ack: the publish may or may not have landed. */
  abandoned(message: ModelMessage): void {
    message.fate = "abandoned";
  }

  cut(client: ModelClient): void {
    client.status = "cut";
    client.cut = { since: this.tick(), instanceEmptied: false, historyLost: false };
    this.#noteEmptyInstances();
  }

  /**
   * The cut client is about to reconnect: its queued publishes go out now, and a gap is allowed
   * only where the target may have lost what it missed (returns the window's start).
   */
  resuming(client: ModelClient): number {
    const start = this.tick();
    const cut = client.cut;
    const relayLocalWindowLost = !this.traits.sharedOffsets && cut?.instanceEmptied === true;
    if (relayLocalWindowLost || cut?.historyLost) client.gapWindows.push([start, Infinity]);
    for (const m of this.messages)
      if (m.publisher === client.name && m.queued && m.fate === "pending") m.logFrom = start;
    client.status = "open";
    delete client.cut;
    return start;
  }

  /** Closes the gap window `resuming` or `restarting` opened, once the client is open again. */
  settledAfter(client: ModelClient, start: number): void {
    const window = client.gapWindows.find(([from, to]) => from === start && to === Infinity);
    if (window) window[1] = this.tick();
  }

  /** An instance restarts: its open clients reconnect now; its cut ones will on resume. */
  restarting(instance: number): { start: number; clients: ModelClient[] } {
    const start = this.tick();
    const clients = this.open().filter((c) => c.instance === instance);
    if (!this.traits.restartKeepsHistory) {
      this.historyLostAt = start;
      for (const c of clients) c.gapWindows.push([start, Infinity]);
      for (const c of this.live()) if (c.instance === instance && c.cut) c.cut.historyLost = true;
    }
    return { start, clients };
  }

  close(client: ModelClient): void {
    const at = this.tick();
    client.status = "closed";
    for (const sub of client.subs) sub.until ??= at;
    this.#noteEmptyInstances();
  }

  /** A relay-local window has a hole once its instance had no client left to listen for. */
  #noteEmptyInstances(): void {
    for (const c of this.live()) {
      if (!c.cut) continue;
      if (!this.open().some((o) => o.instance === c.instance)) c.cut.instanceEmptied = true;
    }
  }

  /** How `message` relates to `sub`: delivered for sure, perhaps, or never. */
  expectation(sub: ModelSubscription, message: ModelMessage): Expectation {
    if (message.fate === "refused" || !delivers(sub.pattern, message.channel)) return "never";
    const until = sub.until ?? Infinity;
    const landedBy = message.acked ?? Infinity;
    if (message.logFrom >= until) return "never";
    if (landedBy < sub.from) return sub.early ? "maybe" : "never";
    if (message.fate === "acked" && sub.from <= message.logFrom && landedBy < until) return "must";
    return "maybe";
  }

  /** True when every subscriber must see `a` before `b`. */
  before(a: ModelMessage, b: ModelMessage): boolean {
    if (a.publisher === b.publisher) return a.seq < b.seq;
    return a.acked !== undefined && a.acked < b.logFrom;
  }

  /** Whether a gap event this client saw at `tick` was an allowed outcome. */
  gapAllowed(client: ModelClient, tick: number): boolean {
    return client.gapWindows.some(([from, to]) => from <= tick && tick <= to);
  }
}

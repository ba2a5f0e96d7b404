/**
 * The real side of a model run: clients made with the public client API, each behind a cut proxy
 * of its own to its relay instance, recording what every subscription handler received and every
 * gap event, in order. It knows nothing of the model; run.ts drives both.
 */
import { createClient, type PubsubBudClient, type Subscription } from "@pubsubbud/client";
import WebSocket from "ws";
import { type CutProxy, startCutProxy } from "../../helpers/proxy.js";
import { waitUntil } from "../../helpers/wait.js";
import type { RelayTarget } from "../targets.js";
import type { Observation, TimelineEntry } from "./check.js";

/** How long a reconnect (after a resume or a restart) may take before the run reports it. */
export const OPEN_TIMEOUT_MS = 30_000;

export interface RealClient {
  readonly name: string;
  readonly client: PubsubBudClient;
  readonly proxy: CutProxy;
  readonly received: Map<string, string[]>;
  readonly timeline: TimelineEntry[];
  readonly errors: string[];
  readonly subscriptions: Map<string, Subscription>;
  /** How many times it reached state `open`. */
  opens: number;
  /** Publishes not yet answered, so a resume can wait for them. */
  readonly unanswered: Set<Promise<unknown>>;
  /** Subscriptions made while cut, by pattern, confirmed only after the resume. */
  readonly unconfirmed: Map<Promise<void>, string>;
}

/** What became of one publish. */
export type PublishResult =
  | { ok: true; offset: string }
  | { ok: false; code: string; wireCode: string | undefined; message: string };

export class Harness {
  readonly clients = new Map<string, RealClient>();
  readonly #target: RelayTarget;
  readonly #namespace: string;
  /** The driver's clock, stamped on gap events. */
  readonly #now: () => number;

  constructor(target: RelayTarget, namespace: string, now: () => number) {
    this.#target = target;
    this.#namespace = namespace;
    this.#now = now;
  }

  /** Connects a client to one instance through a fresh cut proxy. */
  async connect(name: string, instance: number): Promise<RealClient> {
    const upstream = new URL(this.#target.wsUrls[instance] as string);
    const proxy = await startCutProxy(Number(upstream.port));
    const client = createClient({
      url: proxy.url(`/ns/${this.#namespace}`),
      WebSocket,
      reconnect: { baseDelayMs: 10, maxDelayMs: 200 },
      publishTimeoutMs: 20_000,
    });
    const real: RealClient = {
      name,
      client,
      proxy,
      received: new Map(),
      timeline: [],
      errors: [],
      subscriptions: new Map(),
      opens: 0,
      unanswered: new Set(),
      unconfirmed: new Map(),
    };
    client.addEventListener("gap", () => real.timeline.push({ type: "gap", tick: this.#now() }));
    client.addEventListener("state", (e) => {
      if (e.detail.state === "open") real.opens++;
    });
    client.addEventListener("error", (e) => real.errors.push(String(e.detail)));
    this.clients.set(name, real);
    return real;
  }

  get(name: string): RealClient {
    const real = this.clients.get(name);
    if (!real) throw new Error(`no real client ${name}`);
    return real;
  }

  /**
   * Subscribes; the handler records from the first message on (one may be routed before `ready`
   * settles), and `bind` files the list under the model's key once the driver has it.
   */
  subscribe(real: RealClient, pattern: string) {
    const list: string[] = [];
    const subscription = real.client.subscribe(pattern, (message) => {
      list.push(message.id);
      real.timeline.push({ type: "message", id: message.id });
    });
    return {
      ready: subscription.ready,
      bind(key: string) {
        real.received.set(key, list);
        real.subscriptions.set(key, subscription);
      },
    };
  }

  /**
   * Waits for a subscription's confirmation; resolves with what went wrong (a refusal, or no
   * answer within OPEN_TIMEOUT_MS), or undefined when it is confirmed.
   */
  async confirmed(ready: Promise<void>): Promise<string | undefined> {
    return Promise.race([
      ready.then(
        () => undefined,
        (error: unknown) => `refused: ${String(error)}`,
      ),
      new Promise<string>((resolve) =>
        setTimeout(resolve, OPEN_TIMEOUT_MS, `not confirmed in ${OPEN_TIMEOUT_MS} ms`).unref(),
      ),
    ]);
  }

  unsubscribe(real: RealClient, key: string): void {
    const subscription = real.subscriptions.get(key);
    if (!subscription) return;
    // Unsubscribed before its confirmation: `ready` rejects with `closed`, as it should.
    real.unconfirmed.delete(subscription.ready);
    subscription.unsubscribe();
  }

  /**
   * Publishes (the message id is also its data); the promise settles with the outcome and never
   * rejects. `onAnswer` hears the outcome before anyone awaiting the promise resumes.
   */
  publish(
    real: RealClient,
    channel: string,
    id: string,
    headers?: Record<string, string>,
    onAnswer: (result: PublishResult) => void = () => {},
  ): Promise<PublishResult> {
    const answer = real.client
      .publish(channel, id, headers ? { id, headers } : { id })
      .then(
        (ack): PublishResult => ({ ok: true, offset: ack.offset }),
        (error: { code?: string; wireCode?: string; message?: string }): PublishResult => ({
          ok: false,
          code: error.code ?? "unknown",
          wireCode: error.wireCode,
          message: String(error.message),
        }),
      )
      .then((result) => {
        real.unanswered.delete(answer);
        onAnswer(result);
        return result;
      });
    real.unanswered.add(answer);
    return answer;
  }

  /** Cuts the link and waits until the client noticed. */
  async cut(real: RealClient): Promise<void> {
    real.proxy.cut();
    if (!(await waitUntil(() => real.client.state !== "open", OPEN_TIMEOUT_MS)))
      throw new Error(`${real.name} did not notice its cut link`);
  }

  /**
   * Lets the client reconnect and waits for it to be open again with its publishes answered and
   * its offline subscriptions confirmed; returns what went wrong with those.
   */
  async resume(real: RealClient): Promise<string[]> {
    const opens = real.opens;
    real.proxy.restore();
    await this.reopened(real, opens);
    await Promise.all(real.unanswered);
    const waiting = [...real.unconfirmed];
    real.unconfirmed.clear();
    const outcomes = await Promise.all(waiting.map(([ready]) => this.confirmed(ready)));
    return outcomes.flatMap((outcome, i) =>
      outcome ? [`${real.name}'s offline subscription to ${waiting[i]?.[1]}: ${outcome}`] : [],
    );
  }

  /** Waits until the client reached `open` again after having been open `opens` times. */
  async reopened(real: RealClient, opens: number): Promise<void> {
    if (!(await waitUntil(() => real.opens > opens, OPEN_TIMEOUT_MS)))
      throw new Error(`${real.name} did not reconnect within ${OPEN_TIMEOUT_MS} ms`);
  }

  async close(real: RealClient): Promise<void> {
    real.client.close();
    await real.proxy.close();
  }

  async restart(instance: number): Promise<void> {
    await this.#target.restart(instance);
  }

  observations(): Map<string, Observation> {
    return new Map([...this.clients].map(([name, real]) => [name, real]));
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.clients.values()].map((real) => this.close(real)));
  }
}

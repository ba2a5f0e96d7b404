/**
 * Relay-local windows for brokers without a shared log (MQTT, RabbitMQ): per subscribed namespace,
 * a bounded log of what this instance received from the broker, in the broker's order. A
 * namespace stays subscribed for a linger after its last client left, so a client that comes
 * back to the same instance can still resume.
 */
import type { Position } from "@pubsubbud/protocol";
import {
  type BrokerListener,
  type LogMessage,
  type LogRetention,
  MemoryLog,
  type PublishInput,
  randomId,
  type StopListening,
} from "@pubsubbud/relay-core";
import type { Listeners } from "./shared.js";

export interface LocalWindowsOptions {
  retention: LogRetention;
  lingerMs: number;
  listeners: Listeners;
  /** Starts the broker subscription of a namespace. */
  subscribe(namespace: string): Promise<void>;
  /** Ends it (after the linger). */
  unsubscribe(namespace: string): Promise<void>;
}

export class LocalWindows {
  readonly #logs = new Map<string, MemoryLog>();
  readonly #lingering = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #echoes = new Map<string, (offset: string) => void>();
  readonly #options: LocalWindowsOptions;

  constructor(options: LocalWindowsOptions) {
    this.#options = options;
  }

  #fresh(): MemoryLog {
    return new MemoryLog(randomId(12), this.#options.retention, Date.now);
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
    if (this.#logs.has(namespace)) return;
    this.#logs.set(namespace, this.#fresh());
    try {
      await this.#options.subscribe(namespace);
    } catch (error) {
      this.#logs.delete(namespace);
      throw error;
    }
  }

  /** The last listener left: unsubscribe after the linger unless one comes back. */
  closeLater(namespace: string): void {
    const timer = setTimeout(() => {
      this.#lingering.delete(namespace);
      if (this.#options.listeners.has(namespace)) return;
      this.#logs.delete(namespace);
      this.#options.unsubscribe(namespace).catch(() => {});
    }, this.#options.lingerMs);
    timer.unref();
    this.#lingering.set(namespace, timer);
  }

  /** A message from the broker: appended (unless a duplicate id) and handed to the listeners. */
  receive(namespace: string, input: PublishInput): void {
    const { message } = this.#logs.get(namespace)?.append(input) ?? {};
    if (!message) return;
    this.#echoes.get(message.id)?.(message.offset);
    this.#options.listeners.message(namespace, message);
  }

  seen(namespace: string, key: string): string | undefined {
    return this.#logs.get(namespace)?.seen(key);
  }

  /**
   * Sends a message and resolves with the offset its own copy gets here, so this instance's
   * subscribers and the publisher's ack agree; `""` when the namespace is not subscribed here.
   */
  async publish(
    namespace: string,
    id: string,
    send: () => Promise<unknown>,
    timeoutMs: number,
  ): Promise<string> {
    const echo = this.#logs.has(namespace)
      ? new Promise<string>((resolve) => this.#echoes.set(id, resolve))
      : Promise.resolve("");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = (what: string) =>
      new Promise<never>((_, reject) => {
        clearTimeout(timer);
        timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs);
      });
    try {
      await Promise.race([send(), late("the broker did not confirm the message")]);
      return await Promise.race([echo, late("the broker did not deliver the message back")]);
    } finally {
      clearTimeout(timer);
      this.#echoes.delete(id);
    }
  }

  /**
   * The broker lost this relay's subscriptions (a server restart, an exclusive queue gone): every
   * window starts a new epoch, and once `resubscribe` is back the namespaces' clients are told to
   * resume (they get `recovered:false`).
   */
  restart(resubscribe: (namespace: string) => Promise<void>, onError: (error: unknown) => void) {
    for (const namespace of this.#logs.keys()) {
      this.#logs.set(namespace, this.#fresh());
      resubscribe(namespace)
        .catch(onError)
        .finally(() => this.#options.listeners.gap(namespace));
    }
  }

  head(namespace: string): Position {
    return this.#logs.get(namespace)?.head() ?? { epoch: "unlistened", offset: "" };
  }

  since(namespace: string, position: Position): LogMessage[] | undefined {
    return this.#logs.get(namespace)?.since(position);
  }

  has(namespace: string): boolean {
    return this.#logs.has(namespace);
  }

  clear(): void {
    for (const timer of this.#lingering.values()) clearTimeout(timer);
    this.#lingering.clear();
    this.#logs.clear();
  }
}

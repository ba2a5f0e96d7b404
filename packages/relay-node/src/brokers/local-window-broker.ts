/**
 * What the brokers without a shared log (MQTT, RabbitMQ) have in common: listening, head and
 * replay are their {@link LocalWindows}', with decimal offsets. Each subclass adds how a message
 * reaches its server, its groups and its health.
 */
import type { Position } from "@pubsubbud/protocol";
import {
  type BrokerListener,
  compareDecimalOffsets,
  type LogMessage,
  type StopListening,
} from "@pubsubbud/relay-core";
import type { LocalWindows } from "./local-window.js";

export abstract class LocalWindowBroker {
  readonly capabilities: { sharedHistory: false; totalOrder: boolean };
  protected abstract readonly windows: LocalWindows;

  constructor(totalOrder: boolean) {
    this.capabilities = { sharedHistory: false, totalOrder };
  }

  listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
    return this.windows.listen(namespace, listener);
  }

  async head(namespace: string): Promise<Position> {
    return this.windows.head(namespace);
  }

  async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
    return this.windows.since(namespace, position);
  }

  compareOffsets(a: string, b: string): number {
    return compareDecimalOffsets(a, b);
  }
}

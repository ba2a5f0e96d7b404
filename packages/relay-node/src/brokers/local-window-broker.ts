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
import type { LocalWindows, LocalWindowsOptions } from "./local-window.js";
import { type BrokerCommonOptions, type Listeners, retentionOf } from "./shared.js";

/** The window options MQTT and RabbitMQ both take (each documents them in its own terms). */
export interface WindowOptions extends BrokerCommonOptions {
  lingerMs?: number;
  publishTimeoutMs?: number;
  maxPublishesInFlight?: number;
}

/** Those options with their defaults, as {@link LocalWindows} takes them. */
export function windowSettings(
  options: WindowOptions,
  listeners: Listeners,
): Pick<
  LocalWindowsOptions,
  "retention" | "lingerMs" | "listeners" | "publishTimeoutMs" | "maxOnTheirWay"
> {
  return {
    retention: retentionOf(options),
    lingerMs: options.lingerMs ?? 60_000,
    listeners,
    publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
    maxOnTheirWay: options.maxPublishesInFlight ?? 500,
  };
}

export abstract class LocalWindowBroker {
  readonly capabilities: { sharedHistory: false; totalOrder: boolean };
  protected abstract readonly windows: LocalWindows;

  constructor(totalOrder: boolean) {
    this.capabilities = { sharedHistory: false, totalOrder };
  }

  listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
    return this.windows.listen(namespace, listener);
  }

  head(namespace: string): Position {
    return this.windows.head(namespace);
  }

  async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
    return this.windows.since(namespace, position);
  }

  compareOffsets(a: string, b: string): number {
    return compareDecimalOffsets(a, b);
  }
}

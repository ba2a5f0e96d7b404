import type { Broker, LogRetention } from "@pubsubbud/relay-core";
import { createMemoryBroker } from "./brokers/memory.js";
import { RelayNodeError, RelayNodeErrorCode } from "./errors.js";

/** Options every broker built from a URL receives. */
export interface BrokerUrlOptions {
  retention?: Partial<LogRetention>;
}

/**
 * Builds a broker from its URL. `memory` (or `memory://`) is the embedded default.
 * @example const broker = await createBrokerFromUrl("memory")
 */
export async function createBrokerFromUrl(
  url: string,
  options: BrokerUrlOptions = {},
): Promise<Broker> {
  const scheme = url.includes(":") ? url.slice(0, url.indexOf(":")) : url;
  switch (scheme) {
    case "memory":
      return createMemoryBroker(options.retention ? { retention: options.retention } : {});
    default:
      throw new RelayNodeError(
        RelayNodeErrorCode.BadBroker,
        `unknown broker URL ${JSON.stringify(url)}: supported schemes are memory (the embedded default)`,
      );
  }
}

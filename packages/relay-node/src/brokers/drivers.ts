/**
 * The client libraries of the networked brokers, in one place. They are optional peer
 * dependencies of relay-node: a memory-broker user installs none of them, and a broker module
 * (which imports its library) is loaded only when its URL scheme is used, through
 * {@link loadBroker}, so a missing library is reported by name instead of as a stack trace.
 */
import { RelayNodeError, RelayNodeErrorCode } from "../errors.js";

/** Each broker's packages at the versions relay-node is tested with (its `peerDependencies`). */
export const BROKER_DRIVERS = {
  redis: { ioredis: "5.9.3" },
  mqtt: { mqtt: "5.16.0" },
  kafka: { "@platformatic/kafka": "1.35.0" },
  postgres: { pg: "8.23.1" },
  nats: {
    "@nats-io/jetstream": "3.4.0",
    "@nats-io/nats-core": "3.4.0",
    "@nats-io/transport-node": "3.4.0",
  },
  amqp: { amqplib: "2.3.1" },
} as const satisfies Record<string, Record<string, string>>;

export type DriverBroker = keyof typeof BROKER_DRIVERS;

/** The package a failed import could not find, from Node's ESM or CJS error. */
function missingPackage(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return undefined;
  return /Cannot find (?:package|module) '([^']+)'/.exec(String(message))?.[1];
}

/**
 * Loads a broker module; when its client library is not installed, fails with
 * `missing_driver` naming exactly what to install.
 */
export async function loadBroker<T>(broker: DriverBroker, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const packages: Record<string, string> = BROKER_DRIVERS[broker];
    const missing = missingPackage(error);
    if (missing === undefined || !(missing in packages)) throw error;
    const install = Object.entries(packages)
      .map(([name, version]) => `${name}@${version}`)
      .join(" ");
    throw new RelayNodeError(
      RelayNodeErrorCode.MissingDriver,
      `the ${broker} broker needs its client library ${missing}, which is not installed: run npm i ${install}`,
      { cause: error },
    );
  }
}

import { PubsubBudError } from "@pubsubbud/protocol";

/** Codes of relay-node's own errors. */
export const RelayNodeErrorCode = {
  /** A config file, environment variable or flag is invalid; the message names the field. */
  BadConfig: "bad_config",
  /** The broker URL has an unknown scheme or cannot be reached. */
  BadBroker: "bad_broker",
  /** The broker's client library is not installed (an optional peer dependency); the message says what to `npm i`. */
  MissingDriver: "missing_driver",
  /** A publisher or subscriber was given an invalid channel, pattern, header or option. */
  BadArgument: "bad_argument",
} as const;
export type RelayNodeErrorCode = (typeof RelayNodeErrorCode)[keyof typeof RelayNodeErrorCode];

/** An error of relay-node's setup (config, broker URL). */
export class RelayNodeError extends PubsubBudError<RelayNodeErrorCode> {
  override readonly name = "RelayNodeError";
}

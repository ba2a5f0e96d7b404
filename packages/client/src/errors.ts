import { PubsubBudError } from "@pubsubbud/protocol";
import type { StandardSchemaV1 } from "@standard-schema/spec";

/** Codes of the errors the client raises. Wire codes from the relay are kept in `wireCode`. */
export const ClientErrorCode = {
  /** No WebSocket constructor: pass the `WebSocket` option (e.g. from `ws` on Node 20). */
  NoWebSocket: "no_websocket",
  /** The relay refused a subscription (see `wireCode`: bad_pattern, forbidden, …). */
  SubscribeRefused: "subscribe_refused",
  /** The relay refused a publish (see `wireCode`: bad_channel, publish_failed, …). */
  PublishRefused: "publish_refused",
  /** A publish was not acknowledged within its timeout. */
  PublishTimeout: "publish_timeout",
  /** The offline publish queue is full; the publish was not queued. */
  QueueFull: "queue_full",
  /** No reply arrived within the request's timeout. */
  RequestTimeout: "request_timeout",
  /** The responder answered with an error. */
  RemoteError: "remote_error",
  /** The client was closed (by `close()` or by a close code that means do not reconnect). */
  Closed: "closed",
  /** A `for await` loop over `messages()` fell `bufferSize` behind; later messages were dropped. */
  SlowConsumer: "slow_consumer",
  /** The operation was aborted by its AbortSignal (the signal's reason is the `cause`). */
  Aborted: "aborted",
  /** The relay refused the token (close 4401). */
  Unauthorized: "unauthorized",
  /** The relay reported an error not tied to a publish or subscription (see `wireCode`). */
  RelayError: "relay_error",
  /** A bad argument, e.g. a message larger than the relay's frame limit. */
  BadArgument: "bad_argument",
  /** A typed channel's schema refused outgoing data (see `issues`); nothing was sent. */
  InvalidData: "invalid_data",
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** An error raised by the client. */
export class ClientError extends PubsubBudError<ClientErrorCode> {
  override readonly name = "ClientError";
  /** The relay's error code when the relay refused something. */
  readonly wireCode: string | undefined;
  /** The schema's issues, for `invalid_data`. */
  readonly issues: readonly StandardSchemaV1.Issue[] | undefined;
  constructor(
    code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown; wireCode?: string; issues?: readonly StandardSchemaV1.Issue[] },
  ) {
    super(code, message, options);
    this.wireCode = options?.wireCode;
    this.issues = options?.issues;
  }
}

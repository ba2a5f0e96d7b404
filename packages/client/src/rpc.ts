import type { Headers } from "@pubsubbud/protocol";
import { isInboxChannel } from "@pubsubbud/protocol";
import { ClientError, ClientErrorCode } from "./errors.js";
import type { Pending } from "./pending.js";
import type { Message, MessageHandler } from "./subscription.js";

/**
 * Wraps a request handler as a subscription handler: the handler's return value is published to
 * the request's `reply-to` with its `correlation-id`; a thrown error becomes a reply with header
 * `error`. Messages without a valid `reply-to` are not requests and are ignored.
 */
export function responder<T>(
  handler: (request: Message<T>) => unknown,
  reply: (channel: string, data: unknown, headers: Headers) => Promise<unknown>,
): MessageHandler<T> {
  return async (message) => {
    const replyTo = message.headers["reply-to"];
    if (typeof replyTo !== "string" || !isInboxChannel(replyTo)) return;
    const headers: Headers = { "correlation-id": message.headers["correlation-id"] ?? null };
    let data: unknown;
    try {
      data = await handler(message);
    } catch (error) {
      data = { message: error instanceof Error ? error.message : String(error) };
      headers.error = "handler_failed";
    }
    await reply(replyTo, data === undefined ? null : data, headers);
  };
}

/** Settles the request a reply answers; replies to nothing still waiting are dropped. */
export function settleReply(requests: Pending<Message>, message: Message): void {
  const correlation = message.headers["correlation-id"];
  if (typeof correlation !== "string" || !requests.has(correlation)) return;
  if (message.headers.error === undefined) {
    requests.settle(correlation, message);
    return;
  }
  const detail = (message.data as { message?: unknown } | null)?.message;
  requests.fail(
    correlation,
    new ClientError(
      ClientErrorCode.RemoteError,
      `the responder failed: ${String(detail ?? message.headers.error)}`,
    ),
  );
}

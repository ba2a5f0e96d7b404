/**
 * What a failed Kafka produce means for the publisher: provably not appended (`publish_failed`,
 * the message must never be delivered) or maybe appended (`publish_uncertain`, retry with the
 * same id). Only failures that happen before the request leaves, or a broker answer that it did
 * not append, are proof; a timeout, a connection lost with requests in flight, or a request that
 * left but was not answered by the publish deadline is not.
 */
import { PublishUncertainError } from "@pubsubbud/relay-core";
import { NotSentError, UnansweredError } from "./kafka-produce.js";

/** Broker answers to a produce request that mean the records were not appended. */
const REFUSED = new Set([
  "CORRUPT_MESSAGE",
  "INVALID_REQUIRED_ACKS",
  "INVALID_RECORD",
  "INVALID_TIMESTAMP",
  "INVALID_TOPIC_EXCEPTION",
  "LEADER_NOT_AVAILABLE",
  "MESSAGE_TOO_LARGE",
  "NOT_ENOUGH_REPLICAS",
  "NOT_LEADER_OR_FOLLOWER",
  "RECORD_LIST_TOO_LARGE",
  "TOPIC_AUTHORIZATION_FAILED",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "UNSUPPORTED_COMPRESSION_TYPE",
  "UNSUPPORTED_VERSION",
]);

/** Failures of @platformatic/kafka that happen before a request is written to a connection. */
const BEFORE_SENDING = [/^Connection to .+ (failed|timed out)\.$/, /^Client is closed\.$/];

interface ErrorShape {
  message?: unknown;
  code?: unknown;
  apiId?: unknown;
  errors?: unknown;
}

/**
 * True when a produce that failed with `error` may still have appended its record: any attempt
 * (the client retries) that is not proof of a refusal makes the whole publish uncertain.
 */
export function mayHaveAppended(error: unknown): boolean {
  if (error instanceof NotSentError) return false;
  if (error instanceof UnansweredError) return true;
  const shape = (typeof error === "object" && error !== null ? error : {}) as ErrorShape;
  if (Array.isArray(shape.errors) && shape.errors.length > 0)
    return shape.errors.some(mayHaveAppended);
  if (shape.code === "PLT_KFK_PROTOCOL") return !REFUSED.has(String(shape.apiId));
  if (shape.code === "PLT_KFK_USER") return false;
  const message = String(shape.message ?? "");
  return !BEFORE_SENDING.some((pattern) => pattern.test(message));
}

/** The error a publish throws for a failed produce: uncertain unless refusal is proven. */
export function publishError(error: unknown): Error {
  if (!mayHaveAppended(error)) return error instanceof Error ? error : new Error(String(error));
  return new PublishUncertainError(
    "Kafka may or may not have appended the message (a timeout or a lost connection)",
    { cause: error },
  );
}

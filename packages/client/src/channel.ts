import { compileMatcher } from "@pubsubbud/protocol";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { PubsubBudClient } from "./client.js";
import { ClientError } from "./errors.js";
import { ClientEvent } from "./events.js";
import type { PublishOptions, RequestOptions } from "./options.js";
import { request } from "./rpc.js";
import type { Message, MessageHandler, Subscription } from "./subscription.js";

/** Details of an `invalid` event: a delivered message its channel's schema refused. */
export interface InvalidDetail {
  /** The typed channel's pattern. */
  pattern: string;
  /** The message as it arrived; its handler did not see it. */
  message: Message;
  issues: readonly StandardSchemaV1.Issue[];
}

/** A channel pattern whose payloads a Standard Schema checks both ways (see `client.channel`). */
export interface TypedChannel<S extends StandardSchemaV1> {
  readonly pattern: string;
  /** Subscribes to the pattern; only messages the schema accepts reach `handler`, as its output. */
  subscribe(handler: MessageHandler<StandardSchemaV1.InferOutput<S>>): Subscription;
  /** Publishes to a channel the pattern matches; data the schema refuses throws before sending. */
  publish(
    channel: string,
    data: StandardSchemaV1.InferInput<S>,
    options?: PublishOptions,
  ): Promise<{ id: string; offset: string }>;
  /** Sends a request whose data the schema checks; the reply is not checked. */
  request<R = unknown>(
    channel: string,
    data: StandardSchemaV1.InferInput<S>,
    options?: RequestOptions,
  ): Promise<Message<R>>;
}

const describe = (issues: readonly StandardSchemaV1.Issue[]) =>
  issues
    .map((issue) => {
      const path = issue.path?.map((p) => String(typeof p === "object" ? p.key : p)).join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");

/**
 * A typed channel on `client`: `schema` (any Standard Schema: zod, valibot, arktype, …) checks
 * what is published (refused data rejects with `invalid_data` before anything is sent) and what
 * is delivered (a refused message becomes the client's `invalid` event instead of reaching the
 * handler). Payload types are inferred from the schema. A function rather than a client method,
 * so a bundle that never uses it does not carry it. Async schemas keep delivery order.
 * @example
 * const chat = channel(client, "chat.*", z.object({ text: z.string() }));
 * chat.subscribe((msg) => show(msg.data.text));
 * await chat.publish("chat.lobby", { text: "hi" });
 */
export function channel<S extends StandardSchemaV1>(
  client: PubsubBudClient,
  pattern: string,
  schema: S,
): TypedChannel<S> {
  const invalid = (detail: InvalidDetail): void => {
    client.dispatchEvent(new ClientEvent("invalid", detail));
  };
  const validate = (value: unknown) => schema["~standard"].validate(value);
  const matches = compileMatcher(pattern);
  /**
   * Checks outgoing data and resolves with it as given: the wire carries the schema's input, so
   * the receiving side's schema (and its transforms) applies once, on delivery.
   */
  const outgoing = async (channel: string, data: unknown): Promise<unknown> => {
    if (!matches(channel))
      throw new ClientError(
        "bad_argument",
        `channel ${channel} is outside this typed channel's pattern ${pattern}`,
      );
    const result = await validate(data);
    if (result.issues)
      throw new ClientError(
        "invalid_data",
        `not sent: the schema of ${pattern} refused the data (${describe(result.issues)})`,
        { issues: result.issues },
      );
    return data;
  };
  return {
    pattern,
    subscribe(handler) {
      let queue: Promise<void> = Promise.resolve();
      const deliver = (message: Message, result: StandardSchemaV1.Result<unknown>) =>
        result.issues
          ? invalid({ pattern, message, issues: result.issues })
          : handler({ ...message, data: result.value } as Message<StandardSchemaV1.InferOutput<S>>);
      return client.subscribe(pattern, (message) => {
        const result = validate(message.data);
        if (!(result instanceof Promise)) return deliver(message, result);
        // Async schemas: chain, so messages reach the handler in the order they arrived; a
        // failing handler rejects its own turn only.
        const turn = queue.then(async () => deliver(message, await result));
        queue = turn.catch(() => {});
        return turn;
      });
    },
    publish: async (channel, data, options) =>
      client.publish(channel, await outgoing(channel, data), options),
    async request<R>(channel: string, data: unknown, options?: RequestOptions) {
      return request<R>(client, channel, await outgoing(channel, data), options);
    },
  };
}

import type { Headers } from "@pubsubbud/protocol";
import { isInboxChannel } from "@pubsubbud/protocol";
import { randomId } from "./id.js";
import { onAbort } from "./abort.js";
import type { PubsubBudClient } from "./client.js";
import { ClientError } from "./errors.js";
import type { RequestOptions } from "./options.js";
import { Pending } from "./pending.js";
import type { Message, Subscription } from "./subscription.js";

/** A client's inbox subscription and the requests waiting for a reply on it. */
interface Inbox {
  readonly subscription: Subscription;
  readonly waiting: Pending<Message>;
}

const inboxes = new WeakMap<PubsubBudClient, Inbox>();

/** Resolves once the client knows its inbox: the relay names it in the first `welcome`. */
function inboxNamed(client: PubsubBudClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const { state } = client;
      const ended = state === "closed" || state === "unauthorized" ? state : undefined;
      if (!client.inbox && !ended) return;
      client.removeEventListener("state", check);
      if (ended) reject(new ClientError(ended, `the client is ${ended}`));
      else resolve();
    };
    client.addEventListener("state", check);
    check();
  });
}

/**
 * The client's inbox, subscribed on its first request. When the client ends, the requests still
 * waiting reject with its reason; a refused inbox subscription is dropped, so a later request
 * tries again.
 */
function inboxOf(client: PubsubBudClient): Inbox {
  const known = inboxes.get(client);
  if (known) return known;
  const waiting = new Pending<Message>();
  const subscription = client.subscribe(client.inbox, (m) => settleReply(waiting, m));
  const inbox = { subscription, waiting };
  inboxes.set(client, inbox);
  subscription.ready.catch((error: ClientError) => {
    inboxes.delete(client);
    waiting.failAll(error);
  });
  client.addEventListener("state", ({ detail: { state } }) => {
    if (state === "closed" || state === "unauthorized")
      waiting.failAll(new ClientError(state, `the client is ${state}`));
  });
  return inbox;
}

/**
 * Sends a request and resolves with the reply message (`answer.data`): the data goes to
 * `channel` with headers `reply-to` (the client's inbox) and `correlation-id`, and whatever
 * {@link serve} answers comes back. A function rather than a client method, so a bundle that
 * never uses request/reply does not carry it.
 * @example const answer = await request(client, "math.add", { a: 1, b: 2 }, { timeout: 5000 });
 */
export async function request<T = unknown>(
  client: PubsubBudClient,
  channel: string,
  data: unknown,
  options: RequestOptions = {},
): Promise<Message<T>> {
  await inboxNamed(client);
  const { subscription, waiting } = inboxOf(client);
  await subscription.ready;
  const correlation = randomId();
  const { signal, timeout = 10_000 } = options;
  const reply = waiting.wait(
    correlation,
    undefined,
    timeout,
    () => new ClientError("request_timeout", `no reply on ${channel} within ${timeout} ms`),
  );
  const stop = onAbort(signal, (error) => waiting.fail(correlation, error));
  if (!signal?.aborted)
    client
      .publish(channel, data, {
        headers: { ...options.headers, "reply-to": client.inbox, "correlation-id": correlation },
      })
      .catch((error: ClientError) => waiting.fail(correlation, error));
  return reply.finally(stop) as Promise<Message<T>>;
}

/**
 * Answers requests on a channel or pattern: the handler's return value is the reply; a thrown
 * error becomes a reply with header `error` that rejects the requester with `remote_error`.
 * Messages without a valid `reply-to` are not requests and are ignored.
 * @example serve(client, "math.*", async (req) => req.data.a + req.data.b);
 */
export function serve<T = unknown>(
  client: PubsubBudClient,
  pattern: string,
  handler: (request: Message<T>) => unknown,
): Subscription<T> {
  return client.subscribe<T>(pattern, async (message) => {
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
    await client.publish(replyTo, data === undefined ? null : data, { headers });
  });
}

/** Settles the request a reply answers; replies to nothing still waiting are dropped. */
function settleReply(requests: Pending<Message>, message: Message): void {
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
      "remote_error",
      `the responder failed: ${String(detail ?? message.headers.error)}`,
    ),
  );
}

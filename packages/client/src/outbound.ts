import { randomId } from "./id.js";
import { ClientError } from "./errors.js";
import type { PublishOptions } from "./options.js";

/**
 * Builds a `publish` frame, checked against the relay's announced frame limit before anything is
 * queued: an oversized message, or data JSON cannot carry, is refused here with `bad_argument`,
 * since it would be refused again after every reconnect (or, far past the limit, close the
 * connection). The channel is the relay's to check (`publish_refused`, wireCode `bad_channel`):
 * a second copy of the grammar here would cost every bundle its size.
 */
export function publishFrame(
  channel: string,
  data: unknown,
  options: PublishOptions,
  maxFrameBytes: number,
): { id: string; frame: string } | ClientError {
  const id = options.id ?? randomId();
  // JSON leaves out undefined members: no `headers` key when there are none.
  let frame: string;
  try {
    frame = JSON.stringify({ type: "publish", id, channel, data, headers: options.headers });
  } catch (error) {
    // A BigInt or a cycle: refused as the promise's answer, never thrown from publish().
    return new ClientError("bad_argument", `data is not JSON: ${(error as Error).message}`);
  }
  if (frame.length > maxFrameBytes)
    return new ClientError(
      "bad_argument",
      `message is ${frame.length} bytes; the limit is ${maxFrameBytes}`,
    );
  return { id, frame };
}

/** The `hello` frame: who this client is, its token, where to resume, what it subscribes to. */
export function helloFrame(
  client: string,
  token: string | undefined,
  resume: { epoch: string; offset: string } | undefined,
  subscriptions: Iterable<{ id: string; pattern: string }>,
): string {
  return JSON.stringify({
    type: "hello",
    client,
    token,
    resume,
    subscriptions: [...subscriptions].map(({ id, pattern }) => ({ id, pattern })),
  });
}

import type { LogMessage } from "./broker.js";

/** Serializes a log message as a `message` frame; done once per message for all recipients. */
export function serializeMessage(message: LogMessage): string {
  return JSON.stringify(
    message.headers === undefined
      ? {
          type: "message",
          channel: message.channel,
          id: message.id,
          data: message.data,
          ts: message.ts,
          offset: message.offset,
        }
      : {
          type: "message",
          channel: message.channel,
          id: message.id,
          data: message.data,
          headers: message.headers,
          ts: message.ts,
          offset: message.offset,
        },
  );
}

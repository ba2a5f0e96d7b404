import type { LogMessage } from "./broker.js";

/**
 * Each message's frame, kept as long as the message object lives: a message held in a memory log
 * is serialized once, when it is appended, and its live fan-out and every replay of it reuse the
 * text instead of building it (and garbage) again.
 */
const frames = new WeakMap<LogMessage, string>();

/** Serializes a log message as a `message` frame; done once per message for all recipients. */
export function serializeMessage(message: LogMessage): string {
  let text = frames.get(message);
  if (text === undefined) {
    text = frameOf(message);
    frames.set(message, text);
  }
  return text;
}

function frameOf(message: LogMessage): string {
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

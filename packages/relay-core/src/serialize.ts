import type { Headers, MessageFrame } from "@pubsubbud/protocol";
import type { LogMessage, PublishInput } from "./broker.js";

/**
 * A message as a memory log keeps it: its frame is built once, when it is appended, and kept
 * with it, so the live fan-out and every replay reuse the text instead of building it (and
 * garbage) again. A plain object otherwise: spreading or stringifying it shows the message.
 */
export class FramedMessage implements LogMessage {
  readonly channel: string;
  readonly id: string;
  readonly data: unknown;
  declare readonly headers?: Headers;
  readonly ts: number;
  readonly offset: string;
  readonly #frame: string;

  /** A message read back from its frame (a memory log keeps only frames): the text is reused. */
  static parse(this: void, frame: string): FramedMessage {
    const { channel, id, data, headers, ts, offset } = JSON.parse(frame) as MessageFrame;
    return new FramedMessage(
      headers === undefined ? { channel, id, data } : { channel, id, data, headers },
      ts,
      offset,
      frame,
    );
  }

  constructor(input: PublishInput, ts: number, offset: string, frame?: string) {
    this.channel = input.channel;
    this.id = input.id;
    this.data = input.data;
    if (input.headers !== undefined) (this as { headers?: Headers }).headers = input.headers;
    this.ts = ts;
    this.offset = offset;
    this.#frame = frame ?? frameOf(this);
  }

  get frame(): string {
    return this.#frame;
  }
}

/** Serializes a log message as a `message` frame; done once per message for all recipients. */
export function serializeMessage(message: LogMessage): string {
  return message instanceof FramedMessage ? message.frame : frameOf(message);
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

/**
 * The v1 frames as zod schemas (the relay validates every inbound frame with them) and their
 * inferred types. Channel and pattern strings are checked by the grammar in `grammar.ts`, so the
 * relay can answer `bad_channel`/`bad_pattern` rather than a generic `bad_frame`.
 */
import { z } from "zod";

const id = z.string().min(1).max(128);
const headerValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** Message metadata: a flat map of string keys to string, number, boolean or null. */
export const headersSchema = z.record(z.string(), headerValue);
export type Headers = Record<string, string | number | boolean | null>;

/** A position in a namespace log: the epoch and the offset of the last message seen. */
export const positionSchema = z.object({ epoch: z.string().max(128), offset: z.string().max(128) });
export type Position = z.infer<typeof positionSchema>;

/** A subscription as listed in `hello`: its client-chosen id and pattern. */
export const subscriptionSchema = z.object({ id, pattern: z.string() });

export const helloSchema = z.object({
  type: z.literal("hello"),
  client: z
    .string()
    .min(8)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, "client must be 8–64 characters of A–Z a–z 0–9 _ -"),
  token: z.string().max(8192).optional(),
  resume: positionSchema.optional(),
  subscriptions: z.array(subscriptionSchema).max(1024).optional(),
});
export const subscribeSchema = z.object({ type: z.literal("subscribe"), id, pattern: z.string() });
export const unsubscribeSchema = z.object({ type: z.literal("unsubscribe"), id });
export const publishSchema = z.object({
  type: z.literal("publish"),
  id,
  channel: z.string(),
  data: z.unknown(),
  headers: headersSchema.optional(),
});
export const refreshSchema = z.object({ type: z.literal("refresh"), token: z.string().max(8192) });
/**
 * A liveness ping. `rx` is flow-control credit: how many characters of text (the sum of each
 * received frame's string length) the client has taken off this connection so far. Clients send
 * it at least once per `RX_CREDIT_CHARS` (1 MiB) received; relay-worker, whose sockets report no
 * buffered amount, cuts a connection whose unacknowledged output passes `maxBufferedBytes`.
 */
export const pingSchema = z.object({
  type: z.literal("ping"),
  rx: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
});

/** Every frame a client may send. */
export const clientFrameSchema = z.discriminatedUnion("type", [
  helloSchema,
  subscribeSchema,
  unsubscribeSchema,
  publishSchema,
  refreshSchema,
  pingSchema,
]);

export type HelloFrame = z.infer<typeof helloSchema>;
export type SubscribeFrame = z.infer<typeof subscribeSchema>;
export type UnsubscribeFrame = z.infer<typeof unsubscribeSchema>;
export type PublishFrame = z.infer<typeof publishSchema> & { headers?: Headers };
export type RefreshFrame = z.infer<typeof refreshSchema>;
export type PingFrame = z.infer<typeof pingSchema>;
export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type ClientFrameType = ClientFrame["type"];

/** Limits a relay announces in `welcome`. */
export interface AnnouncedLimits {
  maxFrameBytes: number;
  maxSubscriptions: number;
  maxChannelLength: number;
  maxPatternLength: number;
  maxWildcards: number;
}

export interface WelcomeFrame {
  type: "welcome";
  /** The relay's id for this connection (for logs and support). */
  session: string;
  /** The namespace log's epoch. */
  epoch: string;
  /** Offset of the newest message in the namespace log, "" if none. */
  offset: string;
  /** Present when `hello` carried `resume`: whether every missed message will be replayed. */
  recovered?: boolean;
  /**
   * This connection's private inbox channel, `_inbox.<name>`: the relay derives the name from the
   * client's secret id (and its token's user), so only its owner can subscribe to it.
   */
  inbox: string;
  limits: AnnouncedLimits;
  /** Interval in ms at which the client should send `ping`. */
  heartbeat: number;
  /** Milliseconds until the connection's token expires (absent when it never does). */
  expiresIn?: number;
}
export interface SubscribedFrame {
  type: "subscribed";
  id: string;
}
export interface UnsubscribedFrame {
  type: "unsubscribed";
  id: string;
}
export interface AckFrame {
  type: "ack";
  id: string;
  offset: string;
}
export interface RefreshedFrame {
  type: "refreshed";
  /** When the new token expires, in ms since the epoch by the relay's clock. */
  expiresAt?: number;
  /** Milliseconds until the new token expires: what a client schedules by, free of clock skew. */
  expiresIn?: number;
}
export interface PongFrame {
  type: "pong";
}
export interface MessageFrame {
  type: "message";
  channel: string;
  id: string;
  data: unknown;
  headers?: Headers;
  /** Milliseconds since the Unix epoch, stamped when the message entered the log. */
  ts: number;
  offset: string;
}
export interface ErrorFrame {
  type: "error";
  id?: string;
  code: string;
  message: string;
}

/** Every frame a relay may send. */
export type RelayFrame =
  | WelcomeFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | AckFrame
  | RefreshedFrame
  | PongFrame
  | MessageFrame
  | ErrorFrame;

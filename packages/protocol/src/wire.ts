/**
 * The zod-free half of the codec: what a client needs to read relay frames and what both sides
 * need to build batches. Kept apart from `codec.ts` so a client bundle never pulls in zod.
 */
import type { RelayFrame } from "./frames.js";

/** The exact bytes of a ping and its pong, so a relay can answer without parsing. */
export const PING = '{"type":"ping"}';
export const PONG = '{"type":"pong"}';
/**
 * A client acknowledges what it has received (a ping with `rx`) at least once per this many
 * characters, so a relay that cannot see its socket's buffer still knows how far behind it is.
 */
export const RX_CREDIT_CHARS = 1024 * 1024;
/**
 * What a relay hands the decoder in place of a binary WebSocket frame, which the protocol does
 * not carry; `decodeClientFrames` answers it with `bad_frame` and says to send text. It starts
 * with a lone surrogate, which no text frame can decode to (text frames are valid UTF-8), so no
 * client text is ever mistaken for it.
 */
export const BINARY_FRAME = "\uDC00binary";

/** Joins already-serialized frames into one batch frame without re-serializing them. */
export function joinBatch(serialized: readonly string[]): string {
  return serialized.length === 1 ? (serialized[0] as string) : `[${serialized.join(",")}]`;
}

/**
 * True when a parsed JSON value nests deeper than `max` (a scalar is depth 0, `{}` depth 1).
 * Walked iteratively, so hostile nesting cannot overflow the stack.
 */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const node = values.pop();
    const depth = depths.pop() as number;
    if (node === null || typeof node !== "object") continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === "object") {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** A number that is not finite inside a value, and where: `data.a[2]`, `data["x y"]`. */
export interface NonFinite {
  path: string;
  value: number;
}

/**
 * The first number in a JSON value that is not finite (NaN or ±Infinity, which JSON cannot
 * carry: `JSON.parse` turns `1e400` into Infinity, `JSON.stringify` turns Infinity into `null`),
 * or `undefined`. An object's `toJSON` is followed, as `JSON.stringify` does; the value must be
 * free of cycles (serialize it first). Walked iteratively, so nesting cannot overflow the stack.
 * Callers walk only what a cheap test of the text flagged (the walk builds every path).
 */
export function findNonFinite(value: unknown, root: string): NonFinite | undefined {
  const values: unknown[] = [value];
  const paths: string[] = [root];
  while (values.length > 0) {
    let node = values.pop();
    const path = paths.pop() as string;
    if (typeof node === "number") {
      if (!Number.isFinite(node)) return { path, value: node };
      continue;
    }
    if (node === null || typeof node !== "object") continue;
    node = serialized(node);
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) {
        values.push(node[i]);
        paths.push(`${path}[${i}]`);
      }
    } else if (node !== null && typeof node === "object") {
      for (const key of Object.keys(node).reverse()) {
        values.push((node as Record<string, unknown>)[key]);
        paths.push(keyPath(path, key));
      }
    } else {
      values.push(node);
      paths.push(path);
    }
  }
  return undefined;
}

/** What `JSON.stringify` serializes in place of `node`. */
const serialized = (node: object): unknown =>
  typeof (node as { toJSON?: unknown }).toJSON === "function"
    ? (node as { toJSON(): unknown }).toJSON()
    : node;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]{0,39}$/;
const keyPath = (path: string, key: string): string =>
  IDENTIFIER.test(key)
    ? `${path}.${key}`
    : `${path}[${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}]`;

/** Says what to fix about a number JSON cannot carry, found by {@link findNonFinite}. */
export function nonFiniteMessage({ path, value }: NonFinite): string {
  return Number.isNaN(value)
    ? `${path} is NaN, which JSON cannot carry (it would arrive as null): send null or a string`
    : `${path} holds ${value} or a number past what JSON numbers can carry (about ±1.8e308, which parses to ${value}; it would arrive as null): send it as a string`;
}

/**
 * Upper bound of a JSON text's nesting: its count of `{` and `[` (strings included), counted up
 * to `limit + 1` at most. The brackets are found by `indexOf` (native, and a frame has few).
 */
export function bracketCount(text: string, limit = Number.POSITIVE_INFINITY): number {
  const braces = countOf(text, "{", limit);
  return braces > limit ? braces : braces + countOf(text, "[", limit - braces);
}

/** Occurrences of `char` in `text`, counted up to `limit + 1` at most. */
function countOf(text: string, char: string, limit: number): number {
  let count = 0;
  for (let at = text.indexOf(char); at !== -1 && count <= limit; at = text.indexOf(char, at + 1))
    count++;
  return count;
}

const RELAY_TYPE_LIST = [
  "welcome",
  "subscribed",
  "unsubscribed",
  "ack",
  "refreshed",
  "pong",
  "message",
  "error",
] as const satisfies readonly RelayFrame["type"][];
const RELAY_TYPES: ReadonlySet<string> = new Set(RELAY_TYPE_LIST);
type Holds<T extends true> = T;
/** Compiles only while the list above names every relay frame type (no bytes in the bundle). */
export type RelayTypesListed = Holds<
  [Exclude<RelayFrame["type"], (typeof RELAY_TYPE_LIST)[number]>] extends [never] ? true : false
>;

/**
 * Decodes a frame from a relay: one frame or a batch. Frames of unknown types are dropped so a
 * v1 client keeps working when a relay adds frame types. Throws on invalid JSON.
 */
export function decodeRelayFrames(text: string): RelayFrame[] {
  const raw: unknown = JSON.parse(text);
  const list = Array.isArray(raw) ? raw : [raw];
  return list.filter(
    (frame): frame is RelayFrame =>
      frame !== null &&
      typeof frame === "object" &&
      RELAY_TYPES.has((frame as { type?: string }).type as string),
  );
}

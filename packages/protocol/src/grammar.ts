import { DEFAULT_LIMITS, INBOX_PREFIX, type ProtocolLimits } from "./limits.js";
import { countWildcards } from "./matcher.js";
import { findNonFinite, nonFiniteMessage } from "./wire.js";

/**
 * The length of `text` in UTF-8 bytes, as `TextEncoder` encodes it (a lone surrogate becomes
 * U+FFFD, 3 bytes). Counted on the string: no Buffer in browsers and Workers.
 */
export function utf8ByteLength(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A pair: two code units, four bytes.
      bytes += 2;
      i++;
    } else bytes += 2; // Three bytes, a lone surrogate's U+FFFD included.
  }
  return bytes;
}

const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

/**
 * True when `text` is longer than `max` UTF-8 bytes. Counts only when it must: a UTF-16 code unit
 * is 1–3 bytes, so a string of at most `max / 3` units fits and one over `max` units does not.
 */
function overBytes(text: string, max: number): boolean {
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  return utf8ByteLength(text) > max;
}

function printableAsciiError(value: string, what: string, forbidden: string): string | undefined {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x21 || code > 0x7e)
      return `${what} must be printable ASCII without spaces (found code ${code} at ${i})`;
    if (forbidden.includes(value[i] as string))
      return `${what} must not contain '${value[i]}' (at ${i}); wildcards belong in patterns`;
  }
  return undefined;
}

/**
 * Why a channel name is invalid, or `undefined` if it is valid: 1–255 bytes of printable ASCII
 * without spaces or `*?[]`.
 */
export function channelError(
  channel: unknown,
  limits: Pick<ProtocolLimits, "maxChannelLength"> = DEFAULT_LIMITS,
): string | undefined {
  if (typeof channel !== "string") return "channel must be a string";
  if (channel.length === 0) return "channel must not be empty";
  if (channel.length > limits.maxChannelLength)
    return `channel is ${utf8ByteLength(channel)} bytes; the limit is ${limits.maxChannelLength}`;
  return printableAsciiError(channel, "channel", "*?[]");
}

/**
 * Why a pattern is invalid, or `undefined` if it is valid: 1–255 bytes of printable ASCII without
 * spaces and at most 16 wildcards (by default).
 */
export function patternError(
  pattern: unknown,
  limits: Pick<ProtocolLimits, "maxPatternLength" | "maxWildcards"> = DEFAULT_LIMITS,
): string | undefined {
  if (typeof pattern !== "string") return "pattern must be a string";
  if (pattern.length === 0) return "pattern must not be empty";
  if (pattern.length > limits.maxPatternLength)
    return `pattern is ${utf8ByteLength(pattern)} bytes; the limit is ${limits.maxPatternLength}`;
  const ascii = printableAsciiError(pattern, "pattern", "");
  if (ascii) return ascii;
  const wildcards = countWildcards(pattern);
  if (wildcards > limits.maxWildcards)
    return `pattern has ${wildcards} wildcards; the limit is ${limits.maxWildcards}`;
  return undefined;
}

/**
 * Why a message's data cannot travel, or `undefined`: it must be a JSON value (what the wire
 * carries). A server-side publish checks it before the broker sees it, so a BigInt, a cycle,
 * `undefined`, or a NaN or Infinity (which `JSON.stringify` would turn into `null`) is refused
 * with a reason instead of failing inside the broker or arriving changed.
 */
export function dataError(data: unknown): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (error) {
    return `data cannot be serialized as JSON: ${(error as Error).message.split("\n")[0]}`;
  }
  if (text === undefined) return `data must be a JSON value, not ${typeof data}`;
  // JSON.stringify writes NaN and ±Infinity as null: data without a null needs no walk.
  const nonFinite = text.includes("null") ? findNonFinite(data, "data") : undefined;
  return nonFinite && nonFiniteMessage(nonFinite);
}

/** True for channels under `_inbox.`, which only reach their owner's exact subscription. */
export function isInboxChannel(channel: string): boolean {
  return channel.startsWith(INBOX_PREFIX);
}

/**
 * Why a headers map breaks the limits, or undefined: at most 32 keys of 1–64 bytes, string
 * values of at most 1024 bytes (by default), bytes of UTF-8 as they travel. The shape itself is
 * checked by the frame schema.
 */
export function headersError(
  headers: Record<string, unknown> | undefined,
  limits: Pick<
    ProtocolLimits,
    "maxHeaders" | "maxHeaderKeyLength" | "maxHeaderValueLength"
  > = DEFAULT_LIMITS,
): string | undefined {
  if (headers === undefined) return undefined;
  const keys = Object.keys(headers);
  if (keys.length > limits.maxHeaders)
    return `${keys.length} headers; the limit is ${limits.maxHeaders}`;
  for (const key of keys) {
    if (key.length === 0 || overBytes(key, limits.maxHeaderKeyLength))
      return `header key ${JSON.stringify(key.slice(0, 20))} is ${utf8ByteLength(key)} bytes of UTF-8; keys must be 1–${limits.maxHeaderKeyLength} bytes`;
    const value = headers[key];
    if (typeof value === "string" && overBytes(value, limits.maxHeaderValueLength))
      return `header ${key} is ${utf8ByteLength(value)} bytes of UTF-8; the limit is ${limits.maxHeaderValueLength}`;
  }
  return undefined;
}

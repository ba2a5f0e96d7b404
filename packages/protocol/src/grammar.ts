import { DEFAULT_LIMITS, INBOX_PREFIX, type ProtocolLimits } from "./limits.js";
import { countWildcards } from "./matcher.js";

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
    return `channel is ${channel.length} bytes; the limit is ${limits.maxChannelLength}`;
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
    return `pattern is ${pattern.length} bytes; the limit is ${limits.maxPatternLength}`;
  const ascii = printableAsciiError(pattern, "pattern", "");
  if (ascii) return ascii;
  const wildcards = countWildcards(pattern);
  if (wildcards > limits.maxWildcards)
    return `pattern has ${wildcards} wildcards; the limit is ${limits.maxWildcards}`;
  return undefined;
}

/**
 * Why a message's data cannot travel, or `undefined`: it must be a JSON value (what the wire
 * carries). A server-side publish checks it before the broker sees it, so a BigInt, a cycle or
 * `undefined` is refused with a reason instead of failing inside the broker.
 */
export function dataError(data: unknown): string | undefined {
  try {
    if (JSON.stringify(data) === undefined) return `data must be a JSON value, not ${typeof data}`;
    return undefined;
  } catch (error) {
    return `data cannot be serialized as JSON: ${(error as Error).message.split("\n")[0]}`;
  }
}

/** True for channels under `_inbox.`, which only reach their owner's exact subscription. */
export function isInboxChannel(channel: string): boolean {
  return channel.startsWith(INBOX_PREFIX);
}

/**
 * Why a headers map breaks the limits, or undefined: at most 32 keys of 1–64 bytes, string
 * values of at most 1024 bytes (by default). The shape itself is checked by the frame schema.
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
    if (key.length === 0 || key.length > limits.maxHeaderKeyLength)
      return `header key ${JSON.stringify(key.slice(0, 20))} must be 1–${limits.maxHeaderKeyLength} bytes`;
    const value = headers[key];
    if (typeof value === "string" && value.length > limits.maxHeaderValueLength)
      return `header ${key} is ${value.length} bytes; the limit is ${limits.maxHeaderValueLength}`;
  }
  return undefined;
}

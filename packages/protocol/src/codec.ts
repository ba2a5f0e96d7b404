import { ErrorCode } from "./codes.js";
import { type ClientFrame, clientFrameSchema } from "./frames.js";
import { DEFAULT_LIMITS, type ProtocolLimits } from "./limits.js";
import {
  BINARY_FRAME,
  bracketCount,
  findNonFinite,
  jsonDepthExceeds,
  nonFiniteMessage,
} from "./wire.js";

/** A frame that could not be decoded, with the documented code to answer it with. */
export interface DecodeFailure {
  ok: false;
  code: ErrorCode;
  message: string;
  /** The frame's `id`, when one could be read, so the error can be correlated. */
  id?: string;
}
export type DecodeResult<T> = { ok: true; frame: T } | DecodeFailure;

function failure(code: ErrorCode, message: string, raw?: unknown): DecodeFailure {
  const id =
    raw !== null && typeof raw === "object" && typeof (raw as { id?: unknown }).id === "string"
      ? ((raw as { id: string }).id.slice(0, 128) as string)
      : undefined;
  return id === undefined ? { ok: false, code, message } : { ok: false, code, message, id };
}

/** The client frame types, read off the schema's discriminated union. */
const CLIENT_TYPES: ReadonlySet<string> = new Set(
  clientFrameSchema.options.map((schema) => schema.shape.type.value),
);

/**
 * Validates one parsed value as a client frame, down to a publish's data: a number in it that is
 * not finite (what `JSON.parse` makes of `1e400`) is refused, since it would arrive as `null`.
 */
export function validateClientFrame(raw: unknown): DecodeResult<ClientFrame> {
  const result = validateShape(raw);
  if (!result.ok || result.frame.type !== "publish") return result;
  const nonFinite = findNonFinite(result.frame.data, "data");
  if (nonFinite === undefined) return result;
  return failure(ErrorCode.BadFrame, `invalid publish frame: ${nonFiniteMessage(nonFinite)}`, raw);
}

/** Validates a frame's shape, leaving the numbers inside a publish's data unchecked. */
function validateShape(raw: unknown): DecodeResult<ClientFrame> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    return failure(ErrorCode.BadFrame, "a frame must be a JSON object");
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== "string" || !CLIENT_TYPES.has(type))
    return failure(
      ErrorCode.UnknownType,
      `unknown frame type ${JSON.stringify(type)?.slice(0, 40)}; expected one of ${[...CLIENT_TYPES].join(", ")}`,
      raw,
    );
  // zod drops a `__proto__` key from records (assigning it would replace the prototype); a
  // header must not vanish silently, so it is refused instead.
  const headers = (raw as { headers?: unknown }).headers;
  if (headers !== null && typeof headers === "object" && Object.hasOwn(headers, "__proto__"))
    return failure(
      ErrorCode.BadHeaders,
      `invalid ${type} frame: headers: header key "__proto__" is reserved`,
      raw,
    );
  if (isPlainValid(raw as Record<string, unknown>, type))
    return { ok: true, frame: raw as ClientFrame };
  const parsed = clientFrameSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "frame";
    const code = issue?.path[0] === "headers" ? ErrorCode.BadHeaders : ErrorCode.BadFrame;
    return failure(code, `invalid ${type} frame: ${where}: ${issue?.message ?? "invalid"}`, raw);
  }
  return { ok: true, frame: parsed.data as ClientFrame };
}

const isId = (value: unknown): boolean =>
  typeof value === "string" && value.length >= 1 && value.length <= 128;
const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** Keys each frame type may carry: a frame with any other key is left to the schema. */
const FAST_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  publish: new Set(["type", "id", "channel", "data", "headers"]),
  subscribe: new Set(["type", "id", "pattern"]),
  hello: new Set(["type", "client", "token", "resume", "subscriptions"]),
};
const POSITION_KEYS: ReadonlySet<string> = new Set(["epoch", "offset"]);
const SUBSCRIPTION_KEYS: ReadonlySet<string> = new Set(["id", "pattern"]);

/** A plain object (not null, not an array) whose own keys are all in `keys`. */
function isRecordOf(value: unknown, keys: ReadonlySet<string>): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  for (const key in value) if (!keys.has(key)) return false;
  return true;
}

const isPosition = (value: unknown): boolean =>
  isRecordOf(value, POSITION_KEYS) &&
  typeof value.epoch === "string" &&
  value.epoch.length <= 128 &&
  typeof value.offset === "string" &&
  value.offset.length <= 128;

function isSubscriptionList(value: unknown): boolean {
  if (!Array.isArray(value) || value.length > 1024) return false;
  for (const item of value)
    if (!isRecordOf(item, SUBSCRIPTION_KEYS) || !isId(item.id) || typeof item.pattern !== "string")
      return false;
  return true;
}

/**
 * The common frames checked by hand (a publish is the relay's hottest path, zod's parse of it
 * costs more than the rest of its decoding): true only when the frame is exactly what the schema
 * accepts and would return unchanged (no key it would strip). Anything else — every refusal
 * included — goes to the schema, so errors read the same. A property test holds this to zod.
 */
function isPlainValid(raw: Record<string, unknown>, type: string): boolean {
  const keys = FAST_KEYS[type];
  if (!keys) return false;
  for (const key in raw) if (!keys.has(key)) return false;
  switch (type) {
    case "publish":
      return (
        isId(raw.id) &&
        typeof raw.channel === "string" &&
        "data" in raw &&
        plainHeaders(raw.headers)
      );
    case "subscribe":
      return isId(raw.id) && typeof raw.pattern === "string";
    default:
      return (
        typeof raw.client === "string" &&
        CLIENT_ID.test(raw.client) &&
        (raw.token === undefined || (typeof raw.token === "string" && raw.token.length <= 8192)) &&
        (raw.resume === undefined || isPosition(raw.resume)) &&
        (raw.subscriptions === undefined || isSubscriptionList(raw.subscriptions))
      );
  }
}

function plainHeaders(headers: unknown): boolean {
  if (headers === undefined) return true;
  if (headers === null || typeof headers !== "object" || Array.isArray(headers)) return false;
  for (const key in headers) {
    const value = (headers as Record<string, unknown>)[key];
    if (value !== null && typeof value !== "string" && typeof value !== "boolean") {
      if (typeof value !== "number" || !Number.isFinite(value)) return false;
    }
  }
  return true;
}

const BINARY_MESSAGE =
  "binary frames are not part of the protocol; send each frame as a JSON text frame";

/**
 * Whether `JSON.parse` may meet a number in `text` past a double's range (about 1.8e308, 309
 * digits) and make it Infinity: only with an exponent of 3 or more digits, or a run of at least
 * 210 digits (a 2-digit exponent adds at most 99). Only a frame whose text passes gets its data
 * walked; the common publish pays for one regex test and a scan that skips most characters.
 */
function mayOverflow(text: string): boolean {
  return LONG_EXPONENT.test(text) || hasDigitRun(text, 210);
}
const LONG_EXPONENT = /[eE][+-]?\d{3}/;

/**
 * True when `text` holds a run of at least `min` ASCII digits. Boyer–Moore style: a run from
 * `from` needs a digit at `from + min - 1`, read backward from there; a non-digit moves `from`
 * past it. No character is read twice and most are skipped (a regex for the run would read a
 * long one again from each of its digits).
 */
function hasDigitRun(text: string, min: number): boolean {
  let from = 0;
  // Every position from `from` through `digitsTo` is known to be a digit.
  let digitsTo = -1;
  while (from + min <= text.length) {
    const end = from + min - 1;
    let at = end;
    while (at > digitsTo && isDigit(text.charCodeAt(at))) at--;
    if (at <= digitsTo) return true;
    from = at + 1;
    digitsTo = end;
  }
  return false;
}
const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;

/**
 * Decodes the text of one WebSocket frame from a client: one frame object or a batch array.
 * The size is checked before parsing, the depth before validation. A relay passes
 * {@link BINARY_FRAME} for a binary frame, which is answered with `bad_frame`.
 */
export function decodeClientFrames(
  text: string,
  limits: Pick<ProtocolLimits, "maxFrameBytes" | "maxDepth"> = DEFAULT_LIMITS,
  byteLength = text.length,
): DecodeResult<ClientFrame>[] {
  if (text === BINARY_FRAME) return [failure(ErrorCode.BadFrame, BINARY_MESSAGE)];
  if (byteLength > limits.maxFrameBytes)
    return [
      failure(
        ErrorCode.FrameTooLarge,
        `frame is ${byteLength} bytes; the limit is ${limits.maxFrameBytes}`,
      ),
    ];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return [failure(ErrorCode.BadFrame, `invalid JSON: ${(error as Error).message.slice(0, 120)}`)];
  }
  // A batch is one level of nesting more than its frames. Counting brackets first skips the
  // walk for the common frame that cannot be too deep.
  const maxDepth = limits.maxDepth + (Array.isArray(raw) ? 1 : 0);
  if (bracketCount(text, maxDepth) > maxDepth && jsonDepthExceeds(raw, maxDepth))
    return [failure(ErrorCode.TooDeep, `frame nests deeper than ${limits.maxDepth} levels`)];
  const validate = mayOverflow(text) ? validateClientFrame : validateShape;
  if (Array.isArray(raw)) {
    if (raw.length === 0)
      return [failure(ErrorCode.BadFrame, "a batch must hold at least one frame")];
    return raw.map((frame) => validate(frame));
  }
  return [validate(raw)];
}

/**
 * `POST /v1/ns/<namespace>/publish`, the same on both relays: what is checked before the body
 * is read, how much of it is read, and how it is parsed. Never throws: every outcome is an
 * answer with a documented code (docs/operations.md, "HTTP endpoints").
 */
import {
  ErrorCode,
  type HttpPublish,
  httpPublishSchema,
  jsonDepthExceeds,
} from "@pubsubbud/protocol";
import { RelayError, RelayErrorCode } from "./errors.js";
import { type HttpAnswer, HttpCode, originError, refusal } from "./http.js";
import type { RelayLimits } from "./limits.js";
import type { RelayCore } from "./core-api.js";

/** What an HTTP publish needs of a request, in any runtime. */
export interface HttpPublishRequest {
  /** The namespace of the path, already checked (see `namespaceRoute`). */
  namespace: string;
  /** A request header by its lower-case name. */
  header(name: string): string | null | undefined;
  /** The body's bytes, read only once the headers passed, and never past `maxFrameBytes`. */
  body: AsyncIterable<Uint8Array> | null;
}

/** Options of {@link publishOverHttp}. */
export interface HttpPublishOptions {
  /** Browser origins allowed to publish, as for sockets. @default every origin */
  allowedOrigins?: readonly string[] | undefined;
}

const SHAPE = 'body must be JSON: {"channel","data","headers"?,"id"?}';
const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** Refusals decided from the headers alone, before a byte of the body is read. */
function headersRefusal(
  request: HttpPublishRequest,
  limit: number,
  options: HttpPublishOptions,
): HttpAnswer | undefined {
  const foreign = originError(request.header("origin"), options.allowedOrigins);
  if (foreign) return refusal(403, ErrorCode.Forbidden, foreign);
  // Only JSON: a browser sends a form or text/plain cross-site without asking (no CORS
  // preflight), but never application/json.
  if (!JSON_TYPE.test(request.header("content-type") ?? ""))
    return refusal(415, HttpCode.UnsupportedMediaType, "send the body as application/json");
  const length = request.header("content-length");
  if (length && Number(length) > limit)
    return refusal(413, ErrorCode.FrameTooLarge, `body is larger than ${limit} bytes`);
  return undefined;
}

/** The body's text, read up to `limit` bytes; a refusal past it, for a cut stream or non-UTF-8. */
async function readBodyText(
  body: AsyncIterable<Uint8Array> | null,
  limit: number,
): Promise<{ text: string } | HttpAnswer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of body ?? []) {
      size += chunk.byteLength;
      if (size > limit)
        return refusal(413, ErrorCode.FrameTooLarge, `body is larger than ${limit} bytes`);
      chunks.push(chunk);
    }
  } catch {
    return refusal(400, HttpCode.BadRequest, "the body was cut off before its end");
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return refusal(400, ErrorCode.BadFrame, `${SHAPE}, in UTF-8`);
  }
}

/** Parses a publish body: JSON, then depth (before any walk of the value), then shape. */
function parseBody(text: string, limits: RelayLimits): { publish: HttpPublish } | HttpAnswer {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return refusal(400, ErrorCode.BadFrame, SHAPE);
  }
  // The same depth limit as a WebSocket frame: deeper data would overflow the stack of every
  // JSON.stringify that later serializes it (the broker, each delivery, each replay).
  if (jsonDepthExceeds(raw, limits.maxDepth))
    return refusal(400, ErrorCode.TooDeep, `body nests deeper than ${limits.maxDepth} levels`);
  const headers = (raw as { headers?: unknown } | null)?.headers;
  if (headers !== null && typeof headers === "object" && Object.hasOwn(headers, "__proto__"))
    return refusal(400, ErrorCode.BadHeaders, 'headers: header key "__proto__" is reserved');
  const parsed = httpPublishSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "body";
    const code = issue?.path[0] === "headers" ? ErrorCode.BadHeaders : ErrorCode.BadFrame;
    return refusal(400, code, `${where}: ${issue?.message ?? SHAPE}`);
  }
  return { publish: parsed.data };
}

const STATUS: Record<string, number> = {
  [RelayErrorCode.BadNamespace]: 404,
  [RelayErrorCode.Forbidden]: 403,
  [RelayErrorCode.PublishFailed]: 503,
  [RelayErrorCode.PublishUncertain]: 503,
  [RelayErrorCode.StorageFull]: 503,
};

/**
 * Handles `POST /v1/ns/<namespace>/publish`: 200 with `{id, offset, duplicate}`; 400, 401, 403,
 * 404, 413 or 415 with `{code, message}` for a refused request; 503 `publish_failed` (not taken),
 * `publish_uncertain` (maybe taken) when the broker did not confirm, or `storage_full` (the
 * broker's byte budget is spent). Retry each with the same id.
 */
export async function publishOverHttp(
  core: RelayCore,
  request: HttpPublishRequest,
  options: HttpPublishOptions = {},
): Promise<HttpAnswer> {
  const limit = core.limits.maxFrameBytes;
  const early = headersRefusal(request, limit, options);
  if (early) return early;
  // The same authenticate hook as sockets, before the body is read: `Authorization: Bearer`.
  const bearer = /^Bearer[ \t]+(\S+)$/i.exec(request.header("authorization") ?? "")?.[1];
  const identity = await core.authenticate(bearer, request.namespace, "http");
  if ("refused" in identity) return refusal(401, ErrorCode.Unauthorized, identity.refused);
  const read = await readBodyText(request.body, limit);
  if (!("text" in read)) return read;
  const body = parseBody(read.text, core.limits);
  if (!("publish" in body)) return body;
  try {
    return { status: 200, body: await core.publish(request.namespace, body.publish, identity) };
  } catch (error) {
    if (error instanceof RelayError) {
      // A parsed body's data is always JSON; were it not, it would be a bad frame on the wire.
      const code = error.code === RelayErrorCode.BadData ? ErrorCode.BadFrame : error.code;
      return refusal(STATUS[code] ?? 400, code, error.message);
    }
    return refusal(
      500,
      ErrorCode.Internal,
      "the relay failed on this publish; retry with the same id",
    );
  }
}

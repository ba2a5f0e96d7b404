/**
 * The HTTP surface both relays share, as plain functions over strings: routing by path, the
 * subprotocol check and `POST /v1/ns/<ns>/publish`. Each runtime adapter only moves bytes.
 */
import { ErrorCode, httpPublishSchema, SUBPROTOCOL } from "@pubsubbud/protocol";
import { RelayError } from "./errors.js";
import type { RelayCore } from "./relay.js";

/** An HTTP answer: status and JSON body. */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

const STATUS: Partial<Record<string, number>> = {
  bad_namespace: 404,
  forbidden: 403,
  publish_uncertain: 503,
  storage_full: 503,
};
const PUBLISH_PATH = /^\/v1\/ns\/([^/]+)\/publish$/;
const SOCKET_PATH = /^\/ns\/([^/]+)\/?$/;

/** The namespace a WebSocket path names: `/` is `default`, `/ns/<ns>` is `<ns>`; else undefined. */
export function socketNamespace(path: string): string | undefined {
  if (path === "/" || path === "") return "default";
  const match = SOCKET_PATH.exec(path);
  return match ? decodeURIComponent(match[1] as string) : undefined;
}

/** The namespace of a `/v1/ns/<ns>/publish` path, or undefined for any other path. */
export function publishNamespace(path: string): string | undefined {
  const match = PUBLISH_PATH.exec(path);
  return match ? decodeURIComponent(match[1] as string) : undefined;
}

/** Why an upgrade's offered subprotocols are refused, or undefined (none offered is accepted). */
export function subprotocolError(offered: string | null | undefined): string | undefined {
  if (!offered) return undefined;
  return offered.split(",").some((p) => p.trim() === SUBPROTOCOL)
    ? undefined
    : `subprotocol ${SUBPROTOCOL} required`;
}

/**
 * Why a socket from this browser `Origin` is refused, or undefined. Origins are compared whole
 * (scheme, host and port; ASCII case-insensitive), never by prefix or substring. A request
 * without an Origin (not a browser) passes: browsers always send one on WebSocket upgrades.
 */
export function originError(
  origin: string | null | undefined,
  allowed: readonly string[] | undefined,
): string | undefined {
  if (!allowed || origin === undefined || origin === null) return undefined;
  const wanted = origin.toLowerCase();
  return allowed.some((entry) => entry.toLowerCase() === wanted)
    ? undefined
    : `origin ${origin.slice(0, 200)} is not allowed to connect`;
}

/**
 * Handles the body of `POST /v1/ns/<namespace>/publish` (`undefined` when it was too large):
 * 200 with `{id, offset, duplicate}`, 400/404/413 with `{code, message}` for bad input, 503 when
 * the broker did not take it.
 */
export async function publishOverHttp(
  core: RelayCore,
  namespace: string,
  text: string | undefined,
  authorization?: string | null,
): Promise<HttpAnswer> {
  const limit = core.limits.maxFrameBytes;
  if (text === undefined || text.length > limit)
    return {
      status: 413,
      body: { code: ErrorCode.FrameTooLarge, message: `body is larger than ${limit} bytes` },
    };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {
      status: 400,
      body: {
        code: ErrorCode.BadFrame,
        message: 'body must be JSON: {"channel","data","headers"?,"id"?}',
      },
    };
  }
  const parsed = httpPublishSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "body";
    return {
      status: 400,
      body: { code: ErrorCode.BadFrame, message: `${where}: ${issue?.message}` },
    };
  }
  // The same authenticate hook as sockets: `Authorization: Bearer <token>`, held to its grants.
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  const identity = await core.authenticate(bearer, namespace, "http");
  if ("refused" in identity)
    return { status: 401, body: { code: ErrorCode.Unauthorized, message: identity.refused } };
  try {
    return { status: 200, body: await core.publish(namespace, parsed.data, identity) };
  } catch (error) {
    if (error instanceof RelayError && error.code !== "publish_failed")
      return {
        status: STATUS[error.code] ?? 400,
        body: { code: error.code, message: error.message },
      };
    return {
      status: 503,
      body: {
        code: ErrorCode.PublishFailed,
        message: "the broker did not take the message; retry with the same id",
      },
    };
  }
}

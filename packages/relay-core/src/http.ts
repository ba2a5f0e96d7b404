/**
 * The HTTP surface both relays share, as plain functions over strings: routing by path, the
 * checks made before a WebSocket upgrade, and the codes of every HTTP refusal. Each runtime
 * adapter only moves bytes. Every function here is total: hostile input gets an answer, never
 * an exception (docs/security.md, "Threat model").
 */
import { ErrorCode, SUBPROTOCOL } from "@pubsubbud/protocol";
import { namespaceError } from "./limits.js";

/**
 * Codes of HTTP refusals that have no wire counterpart (the others reuse `ErrorCode`:
 * `bad_frame`, `frame_too_large`, `too_deep`, `bad_channel`, `bad_headers`, `unauthorized`,
 * `forbidden`, `too_many_connections`, `publish_failed`, `publish_uncertain`, `internal`).
 * docs/operations.md lists every status with its code.
 */
export const HttpCode = {
  /** 404: no route has this path. Use `/`, `/ns/<ns>`, `/v1/ns/<ns>/publish`, `/healthz`, `/metrics`. */
  NotFound: "not_found",
  /** 405: the route exists but not for this method. */
  MethodNotAllowed: "method_not_allowed",
  /** 426: a WebSocket path was requested without `Upgrade: websocket`. */
  UpgradeRequired: "upgrade_required",
  /** 400 (upgrade) or 404 (publish): the namespace in the path is not a valid name. */
  BadNamespace: "bad_namespace",
  /** 400: the request itself is malformed (request line, headers, WebSocket handshake headers). */
  BadRequest: "bad_request",
  /** 415: a publish body must be sent as `Content-Type: application/json`. */
  UnsupportedMediaType: "unsupported_media_type",
  /** 408: the request's headers or body did not arrive in time (relay-node's own server). */
  RequestTimeout: "request_timeout",
  /** 431: the request's headers are larger than the server accepts (16 KiB in Node). */
  HeadersTooLarge: "headers_too_large",
  /** 429: this address holds too many connections that are not WebSockets yet (relay-node's own server). */
  TooManyPending: "too_many_pending",
} as const;
export type HttpCode = (typeof HttpCode)[keyof typeof HttpCode];

/** An HTTP answer: status and a JSON body `{code, message}` (or a success body). */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

/** A refusal: `status` with the JSON body `{code, message}`. */
export function refusal(status: number, code: HttpCode | ErrorCode, message: string): HttpAnswer {
  return { status, body: { code, message } };
}

const PUBLISH_PATH = /^\/v1\/ns\/([^/]+)\/publish$/;
const SOCKET_PATH = /^\/ns\/([^/]+)\/?$/;

/**
 * A percent-decoded path segment. An undecodable one (`%`, `%zz`, a lone surrogate) comes back
 * as it was: no namespace may contain `%`, so the name check refuses it with its usual answer.
 */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The namespace a WebSocket path names: `/` is `default`, `/ns/<ns>` is `<ns>`; else undefined. */
export function socketNamespace(path: string): string | undefined {
  if (path === "/" || path === "") return "default";
  const match = SOCKET_PATH.exec(path);
  return match ? decodeSegment(match[1] as string) : undefined;
}

/** The namespace of a `/v1/ns/<ns>/publish` path, or undefined for any other path. */
export function publishNamespace(path: string): string | undefined {
  const match = PUBLISH_PATH.exec(path);
  return match ? decodeSegment(match[1] as string) : undefined;
}

/** Where a path leads: a namespace's socket or publish endpoint, or a refusal of a bad name. */
export type NamespaceRoute =
  | { kind: "socket" | "publish"; namespace: string }
  | { kind: "refused"; of: "socket" | "publish"; answer: HttpAnswer };

/**
 * The namespace route of a path (the part before `?`), or undefined for a path that is neither
 * a socket nor a publish path. A bad name is refused as docs/protocol.md says: 400 before an
 * upgrade, 404 for a publish (no such endpoint).
 */
export function namespaceRoute(path: string): NamespaceRoute | undefined {
  const publish = publishNamespace(path);
  const namespace = publish ?? socketNamespace(path);
  if (namespace === undefined) return undefined;
  const invalid = namespaceError(namespace);
  const of = publish === undefined ? "socket" : "publish";
  if (invalid)
    return {
      kind: "refused",
      of,
      answer: refusal(of === "socket" ? 400 : 404, HttpCode.BadNamespace, invalid),
    };
  return { kind: of, namespace };
}

/** The path of a request target (`/ns/chat?x=1` → `/ns/chat`); total for any string. */
export function pathOf(target: string | undefined): string {
  const end = (target ?? "/").indexOf("?");
  return end < 0 ? (target ?? "/") : (target as string).slice(0, end);
}

// RFC 7230 token characters: the only ones a subprotocol name may hold.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Why an upgrade's offered subprotocols are refused, or undefined (none offered is accepted).
 * The list must be tokens separated by commas, each once, and name `pubsubbud.v1`.
 */
export function subprotocolError(offered: string | null | undefined): string | undefined {
  if (offered === undefined || offered === null || offered === SUBPROTOCOL) return undefined;
  const names = offered.split(",").map((name) => name.trim());
  if (names.some((name) => !TOKEN.test(name)) || new Set(names).size !== names.length)
    return "Sec-WebSocket-Protocol must list distinct tokens separated by commas";
  return names.includes(SUBPROTOCOL) ? undefined : `subprotocol ${SUBPROTOCOL} required`;
}

/** What the upgrade checks read of a request, in any runtime. */
export interface UpgradeRequest {
  method: string | undefined;
  /** A request header by its lower-case name. */
  header(name: string): string | null | undefined;
}

/**
 * Why a WebSocket upgrade is refused before it is accepted, or undefined, checked in this
 * order: method, `Upgrade`, `Origin`, `Sec-WebSocket-Protocol`. The handshake's own headers
 * (key, version) are the runtime's to check: workerd accepts an upgrade from another Worker
 * without them.
 */
export function upgradeRefusal(
  request: UpgradeRequest,
  allowedOrigins: readonly string[] | undefined,
): HttpAnswer | undefined {
  if (request.method !== "GET")
    return refusal(405, HttpCode.MethodNotAllowed, "open a WebSocket with GET");
  if (request.header("upgrade")?.toLowerCase() !== "websocket")
    return refusal(426, HttpCode.UpgradeRequired, `open a WebSocket (subprotocol ${SUBPROTOCOL})`);
  const foreign = originError(request.header("origin"), allowedOrigins);
  if (foreign) return refusal(403, ErrorCode.Forbidden, foreign);
  const offered = subprotocolError(request.header("sec-websocket-protocol"));
  if (offered) return refusal(400, HttpCode.BadRequest, offered);
  return undefined;
}

/**
 * Why a request from this browser `Origin` is refused, or undefined. Origins are compared whole
 * (scheme, host and port; ASCII case-insensitive), never by prefix or substring. A request
 * without an Origin (not a browser) passes: browsers send one on every WebSocket upgrade and
 * every cross-origin POST.
 */
export function originError(
  origin: string | null | undefined,
  allowed: readonly string[] | undefined,
): string | undefined {
  if (!allowed || origin === undefined || origin === null) return undefined;
  const wanted = origin.toLowerCase();
  return allowed.some((entry) => entry.toLowerCase() === wanted)
    ? undefined
    : `origin ${origin.slice(0, 200)} is not allowed here`;
}

/**
 * The one admission of a WebSocket upgrade, for every runtime: which namespace the path names,
 * then method, `Upgrade`, `Origin` allowlist and subprotocol, the runtime's own handshake
 * headers, and the connections per client address. Authentication is not here: the token comes
 * in `hello`, and the session checks it (docs/protocol.md).
 */
import { ErrorCode } from "@pubsubbud/protocol";
import {
  type HttpAnswer,
  HttpCode,
  namespaceRoute,
  refusal,
  type UpgradeRequest,
  upgradeRefusal,
} from "./http.js";

/** What admission reads of an upgrade request. */
export interface AdmissionRequest extends UpgradeRequest {
  /** The request path, without the query. */
  path: string;
  /** The client's address as the runtime knows it (a proxy header or the socket). */
  remote?: string | undefined;
}

/** What admission checks a request against. */
export interface AdmissionPolicy {
  /** Browser origins allowed to connect. @default every origin */
  allowedOrigins: readonly string[] | undefined;
  /** The runtime's checks of its handshake headers (relay-node's ws needs key and version). */
  handshake?: (request: UpgradeRequest) => HttpAnswer | undefined;
  /**
   * The relay that counts connections per address (`limits.maxConnectionsPerIp`). Left out
   * where the count lives elsewhere: relay-worker's router admits first, then the namespace's
   * object, which holds the count, admits again with it.
   */
  connections?: { connectionRefusal(remote: string | undefined): string | undefined };
}

/** The outcome: the namespace to accept the socket into, or the answer that refuses it. */
export type Admission =
  | { admitted: true; namespace: string }
  | { admitted: false; answer: HttpAnswer };

const NOT_A_SOCKET = refusal(404, HttpCode.NotFound, "connect to / or /ns/<namespace>");

/**
 * Admits or refuses a WebSocket upgrade before the runtime accepts it, so every refusal is a
 * documented JSON answer. Total: hostile input gets an answer, never an exception.
 * @example
 * const admission = admitUpgrade({ path, method, header, remote }, { allowedOrigins, connections: core });
 * if (!admission.admitted) return answer(admission.answer);
 * core.accept({ namespace: admission.namespace, remote, transport });
 */
export function admitUpgrade(request: AdmissionRequest, policy: AdmissionPolicy): Admission {
  const route = namespaceRoute(request.path);
  if (route?.kind === "refused" && route.of === "socket")
    return { admitted: false, answer: route.answer };
  if (route?.kind !== "socket") return { admitted: false, answer: NOT_A_SOCKET };
  const refused =
    upgradeRefusal(request, policy.allowedOrigins) ?? policy.handshake?.(request) ?? undefined;
  if (refused) return { admitted: false, answer: refused };
  const crowded = policy.connections?.connectionRefusal(request.remote);
  if (crowded)
    return { admitted: false, answer: refusal(429, ErrorCode.TooManyConnections, crowded) };
  return { admitted: true, namespace: route.namespace };
}

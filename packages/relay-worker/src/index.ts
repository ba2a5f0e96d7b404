import {
  namespaceError,
  originError,
  publishNamespace,
  socketNamespace,
  subprotocolError,
} from "@pubsubbud/relay-core";
import { type Env, originsFromEnv } from "./config.js";
import { NAMESPACE_HEADER, NamespaceObject } from "./namespace-object.js";

// The entry module exports only what workerd accepts there: the handler and the object class.
export { NamespaceObject };

const json = (status: number, body: unknown) => Response.json(body, { status });

/**
 * The Worker: `/` and `/ns/<namespace>` (WebSocket) and `POST /v1/ns/<namespace>/publish` go to
 * the namespace's Durable Object; `/healthz` answers here.
 */
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === "/healthz") return json(200, { status: "ok", broker: "durable-object" });
    const publishTo = publishNamespace(path);
    const namespace = publishTo ?? socketNamespace(path);
    if (namespace === undefined)
      return json(404, {
        code: "not_found",
        message: "connect to / or /ns/<namespace>, or POST /v1/ns/<namespace>/publish",
      });
    const invalid = namespaceError(namespace);
    if (invalid)
      return json(publishTo === undefined ? 400 : 404, { code: "bad_namespace", message: invalid });
    if (publishTo !== undefined) {
      if (request.method !== "POST")
        return json(405, { code: "method_not_allowed", message: "use POST with a JSON body" });
    } else {
      if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket")
        return json(426, {
          code: "upgrade_required",
          message: "open a WebSocket (subprotocol pubsubbud.v1)",
        });
      const foreign = originError(request.headers.get("Origin"), originsFromEnv(env));
      if (foreign) return json(403, { code: "forbidden", message: foreign });
      const refused = subprotocolError(request.headers.get("Sec-WebSocket-Protocol"));
      if (refused) return json(400, { code: "bad_frame", message: refused });
    }
    const forwarded = new Request(request);
    forwarded.headers.set(NAMESPACE_HEADER, namespace);
    return env.NAMESPACES.get(env.NAMESPACES.idFromName(namespace)).fetch(forwarded);
  },
} satisfies ExportedHandler<Env>;

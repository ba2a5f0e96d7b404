import { ErrorCode } from "@pubsubbud/protocol";
import { HttpCode } from "@pubsubbud/relay-core";
import {
  type HttpAnswer,
  namespaceRoute,
  refusal,
  admitUpgrade,
} from "@pubsubbud/relay-core/internal";
import { type Env, originsFromEnv } from "./config.js";
import { upgradeOf } from "./admission.js";
import { NAMESPACE_HEADER, NamespaceObject, workerLogger } from "./namespace-object.js";

// The entry module exports only what workerd accepts there: the handler and the object class.
export { NamespaceObject };

const json = ({ status, body }: HttpAnswer, headers?: Record<string, string>) =>
  Response.json(body, { status, ...(headers ? { headers } : {}) });

const NOT_FOUND = refusal(
  404,
  HttpCode.NotFound,
  "connect to / or /ns/<namespace>, or POST /v1/ns/<namespace>/publish",
);

/** Routes a request: to the namespace's object, or an answer here. Throws only on a bug. */
async function route(request: Request, env: Env): Promise<Response> {
  const path = new URL(request.url).pathname;
  if (path === "/healthz") return Response.json({ status: "ok", broker: "durable-object" });
  const found = namespaceRoute(path);
  if (found === undefined) return json(NOT_FOUND);
  if (found.kind === "refused") return json(found.answer);
  if (found.kind === "publish" && request.method !== "POST")
    return json(refusal(405, HttpCode.MethodNotAllowed, "use POST with a JSON body"), {
      allow: "POST",
    });
  if (found.kind === "socket") {
    // Admitted here without the count per address, which the namespace's object holds: it
    // admits the same request again with it (namespace-object.ts).
    const admission = admitUpgrade(upgradeOf(request), { allowedOrigins: originsFromEnv(env) });
    if (!admission.admitted) return json(admission.answer);
  }
  const forwarded = new Request(request);
  // Set here, whatever the client sent: the object trusts it.
  forwarded.headers.set(NAMESPACE_HEADER, found.namespace);
  return env.NAMESPACES.get(env.NAMESPACES.idFromName(found.namespace)).fetch(forwarded);
}

/**
 * The Worker: `/` and `/ns/<namespace>` (WebSocket) and `POST /v1/ns/<namespace>/publish` go to
 * the namespace's Durable Object; `/healthz` and every refusal answer here.
 */
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      return await route(request, env);
    } catch (error) {
      workerLogger.error("request failed", { error: String(error) });
      return json(refusal(500, ErrorCode.Internal, "the relay failed on this request"));
    }
  },
} satisfies ExportedHandler<Env>;

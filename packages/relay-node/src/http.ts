import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode, isInboxChannel } from "@pubsubbud/protocol";
import { HttpCode, type Logger, type RelayCore, type RelayStats } from "@pubsubbud/relay-core";
import { namespaceRoute, pathOf, publishOverHttp, refusal } from "@pubsubbud/relay-core/internal";
import { send, sendAnswer } from "./answer.js";
import type { LiveHistory } from "./live-history.js";
import { LIVE_PAGE } from "./live-page.js";
import type { LivePageAccess } from "./live-page-access.js";
import { renderMetrics } from "./metrics.js";

/** Options of the HTTP surface. */
export interface HttpOptions {
  core: RelayCore;
  logger: Logger;
  /** The live page's checks, or undefined when `/` and `/v1/stats` are not served. */
  livePage: LivePageAccess | undefined;
  /** The recent samples `/v1/stats` returns under `history`, for the live page's charts. */
  history?: LiveHistory | undefined;
  /** Browser origins allowed to publish. @default every origin */
  allowedOrigins?: readonly string[] | undefined;
}

/** A request header as one string (Node gives repeated ones as an array). */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Stats as the live page shows them: never a private inbox's messages (replies, their data). */
function publicStats(stats: RelayStats): RelayStats {
  return { ...stats, tail: stats.tail.filter((entry) => !isInboxChannel(entry.channel)) };
}

// The page runs one inline script of its own and loads nothing else; no site may frame it.
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/**
 * Handles the relay's HTTP routes: `/healthz`, `/metrics`, `POST /v1/ns/<ns>/publish`, and with
 * the live page on, `/` and `/v1/stats`. Resolves false for any other path so a user's server
 * can handle it. Never rejects: a failure inside is answered 500 `internal` and logged.
 */
export function createHttpHandler(options: HttpOptions) {
  const route = createRoutes(options);
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    try {
      return await route(req, res);
    } catch (error) {
      options.logger.error("request failed", { path: pathOf(req.url), error: String(error) });
      if (!res.headersSent)
        sendAnswer(res, refusal(500, ErrorCode.Internal, "the relay failed on this request"));
      else res.destroy();
      return true;
    }
  };
}

function createRoutes({ core, livePage, history, allowedOrigins }: HttpOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = pathOf(req.url);
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      const healthy = core.broker.healthy();
      send(res, healthy ? 200 : 503, {
        status: healthy ? "ok" : "broker unavailable",
        broker: core.broker.name,
      });
      return true;
    }
    if (path === "/metrics" && req.method === "GET") {
      const text = renderMetrics(core.stats(), process.memoryUsage.rss());
      send(res, 200, text, "text/plain; version=0.0.4");
      return true;
    }
    const namespace = namespaceRoute(path);
    if (namespace?.kind === "refused" && namespace.of === "publish") {
      sendAnswer(res, namespace.answer);
      return true;
    }
    if (namespace?.kind === "publish") {
      if (req.method !== "POST") {
        sendAnswer(res, refusal(405, HttpCode.MethodNotAllowed, "use POST with a JSON body"), {
          allow: "POST",
        });
        return true;
      }
      const answer = await publishOverHttp(
        core,
        {
          namespace: namespace.namespace,
          header: (name) => headerOf(req, name),
          // Stopping early must not destroy the socket: the refusal still has to be sent.
          body: req.iterator({ destroyOnReturn: false }),
        },
        { allowedOrigins },
      );
      // A body left unread (refused early) is not drained: the connection closes instead.
      sendAnswer(res, answer, req.complete ? {} : { connection: "close" });
      return true;
    }
    if (livePage && path === "/" && req.method === "GET") {
      const refused = livePage.page(req);
      if (refused) sendAnswer(res, refused);
      else send(res, 200, LIVE_PAGE, "text/html; charset=utf-8", PAGE_HEADERS);
      return true;
    }
    if (livePage && path === "/v1/stats" && req.method === "GET") {
      const refused = livePage.data(req);
      if (refused)
        sendAnswer(
          res,
          refused,
          refused.status === 401 ? { "www-authenticate": 'Bearer realm="pubsubbud-admin"' } : {},
        );
      else send(res, 200, { ...publicStats(core.stats()), history: history?.history() });
      return true;
    }
    return false;
  };
}

import type { IncomingMessage, ServerResponse } from "node:http";
import { publishNamespace, publishOverHttp, type RelayCore } from "@pubsubbud/relay-core";
import { LIVE_PAGE } from "./live-page.js";
import { renderMetrics } from "./metrics.js";

function send(res: ServerResponse, status: number, body: unknown, type = "application/json"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Options of the HTTP surface. */
export interface HttpOptions {
  core: RelayCore;
  /** Serve the live page and `/v1/stats` (which shows message contents). */
  livePage: boolean;
}

/**
 * Handles the relay's HTTP routes: `/healthz`, `/metrics`, `POST /v1/ns/<ns>/publish`, and with
 * the live page on, `/` and `/v1/stats`. Returns false for any other path so a user's server can
 * handle it.
 */
export function createHttpHandler({ core, livePage }: HttpOptions) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? "/").split("?")[0] as string;
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      const healthy = core.broker.healthy();
      send(res, healthy ? 200 : 503, {
        status: healthy ? "ok" : "broker unavailable",
        broker: core.broker.name,
      });
      return true;
    }
    if (path === "/metrics" && req.method === "GET") {
      send(
        res,
        200,
        renderMetrics(core.stats(), process.memoryUsage.rss()),
        "text/plain; version=0.0.4",
      );
      return true;
    }
    const publishTo = publishNamespace(path);
    if (publishTo !== undefined) {
      if (req.method !== "POST") {
        send(res, 405, { code: "method_not_allowed", message: "use POST with a JSON body" });
        return true;
      }
      await handlePublish(core, publishTo, req, res);
      return true;
    }
    if (livePage && path === "/" && req.method === "GET") {
      send(res, 200, LIVE_PAGE, "text/html; charset=utf-8");
      return true;
    }
    if (livePage && path === "/v1/stats" && req.method === "GET") {
      send(res, 200, core.stats());
      return true;
    }
    return false;
  };
}

async function handlePublish(
  core: RelayCore,
  namespace: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const answer = await publishOverHttp(
    core,
    namespace,
    await readBody(req, core.limits.maxFrameBytes),
    req.headers.authorization,
  );
  send(res, answer.status, answer.body);
}

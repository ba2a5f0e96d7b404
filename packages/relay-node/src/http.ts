import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode } from "@pubsubbud/protocol";
import { type RelayCore, RelayError } from "@pubsubbud/relay-core";
import { z } from "zod";
import { LIVE_PAGE } from "./live-page.js";
import { renderMetrics } from "./metrics.js";

const publishBody = z.object({
  channel: z.string(),
  data: z.unknown(),
  headers: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
    .optional(),
  id: z.string().min(1).max(128).optional(),
});

const PUBLISH_PATH = /^\/v1\/ns\/([^/]+)\/publish$/;

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
    const publish = PUBLISH_PATH.exec(path);
    if (publish) {
      if (req.method !== "POST") {
        send(res, 405, { code: "method_not_allowed", message: "use POST with a JSON body" });
        return true;
      }
      await handlePublish(core, decodeURIComponent(publish[1] as string), req, res);
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
  const text = await readBody(req, core.limits.maxFrameBytes);
  if (text === undefined) {
    send(res, 413, {
      code: ErrorCode.FrameTooLarge,
      message: `body is larger than ${core.limits.maxFrameBytes} bytes`,
    });
    return;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    send(res, 400, {
      code: ErrorCode.BadFrame,
      message: 'body must be JSON: {"channel","data","headers"?,"id"?}',
    });
    return;
  }
  const parsed = publishBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    send(res, 400, {
      code: ErrorCode.BadFrame,
      message: `${issue?.path.join(".") || "body"}: ${issue?.message}`,
    });
    return;
  }
  try {
    const result = await core.publish(
      namespace,
      parsed.data as Parameters<RelayCore["publish"]>[1],
    );
    send(res, 200, result);
  } catch (error) {
    if (error instanceof RelayError && error.code !== "publish_failed") {
      send(res, error.code === "bad_namespace" ? 404 : 400, {
        code: error.code,
        message: error.message,
      });
    } else {
      send(res, 503, {
        code: ErrorCode.PublishFailed,
        message: "the broker did not take the message; retry with the same id",
      });
    }
  }
}

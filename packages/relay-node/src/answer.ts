/** Writing a relay's JSON answers, to an HTTP response or to a raw socket that has none. */
import { STATUS_CODES, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { HttpAnswer } from "@pubsubbud/relay-core/internal";

/** Headers on every answer: never cached, never sniffed into another type. */
const COMMON = { "cache-control": "no-store", "x-content-type-options": "nosniff" };

/** Sends `body` (JSON unless a string of `type`) with `status`; extra headers win. */
export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  type = "application/json",
  headers: Record<string, string> = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { ...COMMON, "content-type": type, ...headers });
  res.end(text);
}

/** Sends a relay-core answer. */
export function sendAnswer(
  res: ServerResponse,
  answer: HttpAnswer,
  headers?: Record<string, string>,
): void {
  send(res, answer.status, answer.body, "application/json", headers);
}

/**
 * Answers on a socket the HTTP server no longer (or not yet) writes to, an upgrade's or one
 * refused before its request, then closes it.
 */
export function answerSocket(socket: Duplex, answer: HttpAnswer): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(answer.body);
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ""}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}

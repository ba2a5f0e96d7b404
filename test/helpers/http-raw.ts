/**
 * Raw HTTP/1.1 over a TCP socket, for requests no HTTP client would send: malformed request
 * lines, forged or contradictory headers, bodies cut short, sockets left half-sent.
 */
import { connect, type Socket } from "node:net";

/** What came back on a raw socket: the first response (if any) and whether the socket closed. */
export interface RawAnswer {
  /** 0 when no status line arrived before the socket closed. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body as JSON when it is JSON, else undefined. */
  json: unknown;
}

function decodeChunked(raw: string): string | undefined {
  let out = "";
  let at = 0;
  for (;;) {
    const eol = raw.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(raw.slice(at, eol), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return out;
    if (raw.length < eol + 2 + size) return undefined;
    out += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 4 + size;
  }
}

/**
 * The first complete response in `raw`, or undefined while it is incomplete. Once the socket
 * `closed`, a body without a length is what arrived.
 */
export function parseResponse(raw: string, head = false, closed = false): RawAnswer | undefined {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine = "", ...lines] = raw.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = raw.slice(end + 4);
  let body: string | undefined = "";
  if (status === 101 || status === 204 || status === 304 || head) body = "";
  else if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    body = Buffer.byteLength(rest) >= length ? rest : undefined;
  } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) body = decodeChunked(rest);
  else body = undefined;
  if (body === undefined && closed) body = rest;
  if (body === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status, headers, body, json };
}

const noAnswer = (raw: string): RawAnswer => ({
  status: 0,
  headers: {},
  body: raw,
  json: undefined,
});

export interface RawRequestOptions {
  /** Half-close after writing, so the server sees the request end (not for upgrades). @default true */
  end?: boolean;
  /** Local address to connect from (any of 127.0.0.0/8 reaches a loopback relay). */
  localAddress?: string;
  /** A HEAD request: its answer has no body. */
  head?: boolean;
}

/** Sends `bytes` and resolves with the first answer, or what arrived when the socket closed. */
export function rawRequest(
  port: number,
  bytes: string | Buffer,
  options: RawRequestOptions = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket: Socket = connect({
      port,
      host: "127.0.0.1",
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    let raw = "";
    let done = false;
    const finish = (answer: RawAnswer) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(answer);
    };
    socket.on("connect", () => {
      socket.write(bytes);
      if (options.end ?? true) socket.end();
    });
    socket.on("data", (chunk) => {
      raw += chunk.toString("latin1");
      const answer = parseResponse(raw, options.head);
      if (answer) finish(answer);
    });
    socket.on("error", () => {});
    socket.on("close", () => finish(parseResponse(raw, options.head, true) ?? noAnswer(raw)));
  });
}

/** Opens a socket that sends `bytes` and then nothing more (it neither ends nor closes). */
export function stalledSocket(
  port: number,
  bytes: string,
  localAddress?: string,
): Promise<{ socket: Socket; answer: Promise<RawAnswer> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", ...(localAddress ? { localAddress } : {}) });
    let raw = "";
    const answer = new Promise<RawAnswer>((settle) => {
      socket.on("data", (chunk) => {
        raw += chunk.toString("latin1");
      });
      socket.on("close", () => settle(parseResponse(raw, false, true) ?? noAnswer(raw)));
    });
    socket.on("error", () => {});
    socket.once("connect", () => {
      socket.write(bytes);
      resolve({ socket, answer });
    });
    socket.once("error", reject);
  });
}

/** A bare WebSocket peer that speaks frames by hand, for the protocol-level cases. */
import { decodeRelayFrames, type RelayFrame, SUBPROTOCOL } from "@pubsubbud/protocol";
import WebSocket from "ws";
import { waitFor } from "./wait.js";

export interface RawPeer {
  /** Every relay frame received, batches flattened. */
  readonly frames: RelayFrame[];
  /** How many WebSocket frames arrived (a batch counts once). */
  readonly wireFrames: () => number;
  /** The length of the largest WebSocket frame that arrived. */
  readonly largestWireFrame: () => number;
  send(frame: unknown): void;
  /** Waits for the first received frame (after `from`) that satisfies `match`. */
  next(match: (frame: RelayFrame) => boolean, what: string, from?: number): Promise<RelayFrame>;
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
  /** Stops reading from the socket, as a stalled client would (the relay's buffer then fills). */
  pause(): void;
}

export async function openRaw(
  url: string,
  headers?: Record<string, string>,
  options: { localAddress?: string } = {},
): Promise<RawPeer> {
  const ws = new WebSocket(url, SUBPROTOCOL, { ...options, ...(headers ? { headers } : {}) });
  const frames: RelayFrame[] = [];
  let wire = 0;
  let largest = 0;
  ws.on("message", (data) => {
    wire++;
    const text = String(data);
    largest = Math.max(largest, text.length);
    frames.push(...decodeRelayFrames(text));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    frames,
    wireFrames: () => wire,
    largestWireFrame: () => largest,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    async next(match, what, from = 0) {
      let found: RelayFrame | undefined;
      await waitFor(() => {
        found = frames.slice(from).find(match);
        return found !== undefined;
      }, what);
      return found as RelayFrame;
    },
    closed,
    close: () => ws.close(),
    // ws's own pause: pausing its TCP socket directly is undone when ws's frame parser drains
    // (under load that let a "stalled" peer read 40 MB and never be cut).
    pause: () => ws.pause(),
  };
}

/** A valid client id for hand-written hello frames. */
export const rawClientId = (tag: string) => `raw-${tag}-${Math.random().toString(36).slice(2, 12)}`;

/** Attempts an upgrade the relay is expected to refuse; resolves with its HTTP status and body. */
export function refusedUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, SUBPROTOCOL, { headers });
    ws.on("open", () => {
      ws.close();
      reject(new Error(`the upgrade to ${url} was accepted`));
    });
    ws.on("unexpected-response", (_request, response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => {
        text += chunk;
      });
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }),
      );
    });
    ws.on("error", () => {});
  });
}

/**
 * Publishes `{n, pad}` messages (1 KiB of padding, n counting from 0) on `channel` in rounds of
 * `round`, each round waiting for its last ack, until `done()` says so; fails once `max` messages
 * have gone out. Returns how many were published.
 */
export async function publishUntil(
  publisher: RawPeer,
  channel: string,
  done: () => boolean,
  { round, max, what }: { round: number; max: number; what: string },
): Promise<number> {
  const pad = "x".repeat(1024);
  let sent = 0;
  while (!done()) {
    const last = sent + round;
    for (; sent < last; sent++)
      publisher.send({ type: "publish", id: `m${sent}`, channel, data: { n: sent, pad } });
    await publisher.next((f) => f.type === "ack" && f.id === `m${last - 1}`, "the round's acks");
    if (sent >= max) throw new Error(`${what} (${sent} messages)`);
  }
  return sent;
}

/**
 * The outbound path of one connection, against a fake socket: the fake exists to control when a
 * write completes and how much the socket holds, which a real socket cannot do on demand.
 */
import { decodeRelayFrames } from "@pubsubbud/protocol";
import { describe, expect, it } from "vitest";
import type { LogMessage } from "./broker.js";
import { compareDecimalOffsets } from "./broker.js";
import { Delivery, type DeliveryHost } from "./delivery.js";

function fakeConnection(options: { maxBatchBytes?: number; maxBufferedBytes?: number } = {}) {
  const writes: string[] = [];
  const pendingWrites: Array<() => void> = [];
  let buffered = 0;
  let slow = 0;
  let caughtUp = 0;
  let scheduled = 0;
  let deferWrites = false;
  const host: DeliveryHost = {
    maxBatchBytes: options.maxBatchBytes ?? 64 * 1024,
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
    compareOffsets: compareDecimalOffsets,
    scheduleFlush: () => void scheduled++,
    wrote: () => {},
  };
  const delivery = new Delivery(host, {
    send: (text, written) => {
      writes.push(text);
      if (!written) return;
      if (deferWrites) pendingWrites.push(written);
      else written();
    },
    bufferedAmount: () => buffered,
    slowConsumer: () => void slow++,
    caughtUp: () => void caughtUp++,
  });
  return {
    delivery,
    /** Every frame written so far, in order, as the client would decode them. */
    frames: () => writes.flatMap((text) => decodeRelayFrames(text)),
    writes,
    slow: () => slow,
    caughtUp: () => caughtUp,
    scheduled: () => scheduled,
    setBuffered: (bytes: number) => {
      buffered = bytes;
    },
    deferWrites: () => {
      deferWrites = true;
    },
    /** The socket finishes its oldest unfinished write. */
    finishWrite: () => pendingWrites.shift()?.(),
  };
}

const message = (offset: number, channel = "c"): LogMessage => ({
  channel,
  id: `m${offset}`,
  data: offset,
  ts: 0,
  offset: String(offset),
});
const live = (offset: number) => JSON.stringify({ type: "message", ...message(offset) }) as string;
const offsetsOf = (frames: ReturnType<ReturnType<typeof fakeConnection>["frames"]>) =>
  frames.map((f) => (f.type === "message" ? f.offset : f.type));

describe("Delivery", () => {
  it("sends frames queued before a flush as one write, and asks for one flush", () => {
    const c = fakeConnection();
    c.delivery.enqueue('{"type":"pong"}');
    c.delivery.enqueue('{"type":"ack","id":"a","offset":"1"}');
    expect(c.scheduled()).toBe(1);
    c.delivery.flush();
    expect(c.writes).toHaveLength(1);
    expect(offsetsOf(c.frames())).toEqual(["pong", "ack"]);
  });

  it("holds live messages during the handshake, replays first, then skips what the replay covered", () => {
    const c = fakeConnection();
    c.delivery.enqueue('{"type":"pong"}');
    // Live messages 3..6 arrive while the handshake runs; the replay covers up to 4.
    for (const offset of [3, 4, 5, 6])
      expect(c.delivery.live(String(offset), live(offset))).toBe(true);
    expect(c.writes).toHaveLength(0);
    c.delivery.start([message(2), message(3), message(4)], "4");
    c.delivery.flush();
    expect(offsetsOf(c.frames())).toEqual(["pong", "2", "3", "4", "5", "6"]);
    // Once live, a message at or before the floor is skipped, a newer one goes out.
    expect(c.delivery.live("7", live(7))).toBe(true);
    c.delivery.flush();
    expect(offsetsOf(c.frames()).slice(-1)).toEqual(["7"]);
  });

  it("skips a lagging listener's message the welcome already covered", () => {
    const c = fakeConnection();
    c.delivery.start([], "10");
    expect(c.delivery.live("9", live(9))).toBe(false);
    expect(c.delivery.live("10", live(10))).toBe(false);
    expect(c.delivery.live("11", live(11))).toBe(true);
    c.delivery.flush();
    expect(offsetsOf(c.frames())).toEqual(["11"]);
  });

  it("sends the next replay batch only after the socket wrote the one before", () => {
    const batch = live(100).length * 2;
    const c = fakeConnection({ maxBatchBytes: batch });
    c.deferWrites();
    const replay = Array.from({ length: 6 }, (_, i) => message(100 + i));
    c.delivery.start(replay, "");
    expect(c.writes).toHaveLength(1);
    expect(c.delivery.replaying).toBe(true);
    c.delivery.live("200", live(200));
    c.finishWrite();
    expect(c.writes).toHaveLength(2);
    c.finishWrite();
    c.finishWrite();
    expect(c.delivery.replaying).toBe(false);
    c.delivery.flush();
    expect(offsetsOf(c.frames())).toEqual(["100", "101", "102", "103", "104", "105", "200"]);
  });

  it("holds answers queued during the replay behind it, in order with the live messages, and says once when it caught up", () => {
    const c = fakeConnection({ maxBatchBytes: live(100).length * 2 });
    c.deferWrites();
    c.delivery.enqueue('{"type":"welcome"}');
    c.delivery.start(
      Array.from({ length: 4 }, (_, i) => message(100 + i)),
      "",
    );
    // Frames pipelined behind the hello are answered while the replay is still going out.
    c.delivery.enqueue('{"type":"subscribed","id":"a"}');
    c.delivery.live("200", live(200));
    c.delivery.enqueue('{"type":"pong"}');
    expect(c.caughtUp()).toBe(0);
    c.finishWrite();
    c.finishWrite();
    expect(c.caughtUp()).toBe(1);
    c.delivery.flush();
    c.finishWrite();
    expect(offsetsOf(c.frames())).toEqual([
      "welcome",
      "100",
      "101",
      "102",
      "103",
      "subscribed",
      "200",
      "pong",
    ]);
    expect(c.caughtUp()).toBe(1);
  });

  it("cuts a slow consumer instead of writing past the outbound budget", () => {
    const c = fakeConnection({ maxBufferedBytes: 1000 });
    c.delivery.start([], "");
    c.setBuffered(990);
    c.delivery.enqueue(live(1));
    c.delivery.flush();
    expect(c.slow()).toBe(1);
    expect(c.writes).toHaveLength(0);
  });

  it("cuts a connection whose held live messages outgrow the budget before its replay is out", () => {
    const c = fakeConnection({ maxBufferedBytes: live(1).length * 3 });
    for (let i = 1; i <= 3; i++) c.delivery.live(String(i), live(i));
    expect(c.slow()).toBe(0);
    c.delivery.live("4", live(4));
    expect(c.slow()).toBe(1);
  });

  it("drains its queue when closed politely, drops it when cut, and sends nothing after", () => {
    const polite = fakeConnection();
    polite.delivery.enqueue('{"type":"pong"}');
    polite.delivery.close(true);
    expect(offsetsOf(polite.frames())).toEqual(["pong"]);
    polite.delivery.enqueue('{"type":"pong"}');
    polite.delivery.flush();
    expect(polite.writes).toHaveLength(1);

    const cut = fakeConnection();
    cut.delivery.enqueue('{"type":"pong"}');
    cut.delivery.close(false);
    cut.delivery.flush();
    expect(cut.writes).toHaveLength(0);
  });
});

import type { LogMessage } from "@pubsubbud/relay-core";
import { describe, expect, it } from "vitest";
import { type ReadAfter, LiveFeed } from "./postgres-feed.js";
import { Listeners } from "./shared.js";

/** A namespace log in memory: rows by seq and a trim point, read as the broker's query reads. */
function memoryLog() {
  const rows: LogMessage[] = [];
  let trimmed = 0n;
  let gate: Promise<void> = Promise.resolve();
  const read: ReadAfter = async (_namespace, after, limit) => {
    await gate;
    return {
      trimmed,
      messages: rows.filter((m) => BigInt(m.offset) > after).slice(0, limit),
    };
  };
  return {
    read,
    append(...seqs: number[]) {
      for (const seq of seqs)
        rows.push({ channel: "c", id: `m${seq}`, data: seq, ts: 0, offset: String(seq) });
    },
    trim(upto: number) {
      rows.splice(0, rows.filter((m) => Number(m.offset) <= upto).length);
      trimmed = BigInt(upto);
    },
    /** Holds reads until the returned function is called. */
    hold(): () => void {
      let open = () => {};
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      return open;
    },
  };
}

function recorder() {
  const listeners = new Listeners();
  const events: string[] = [];
  listeners.add("ns", {
    message: (m) => void events.push(m.offset),
    gap: () => void events.push("gap"),
  });
  return { listeners, events };
}

describe("LiveFeed", () => {
  it("hands out the rows after its start, in log order across pages, each once", async () => {
    const log = memoryLog();
    const { listeners, events } = recorder();
    const feed = new LiveFeed(log.read, listeners, { pageSize: 2 });
    log.append(8, 9, 10, 11, 100);
    feed.start("ns", 8n);
    await feed.wake("ns");
    await feed.wake("ns");
    await feed.wake("ns");
    expect(events).toEqual(["9", "10", "11", "100"]);
  });

  it("reports a gap once when retention removed rows it had not handed out, then goes on after them", async () => {
    const log = memoryLog();
    const { listeners, events } = recorder();
    const feed = new LiveFeed(log.read, listeners);
    feed.start("ns", 0n);
    log.append(1, 2, 3, 4);
    log.trim(2);
    await feed.wake("ns");
    log.append(5);
    await feed.wake("ns");
    expect(events).toEqual(["gap", "3", "4", "5"]);
  });

  it("delivers nothing from a read that was in flight when the namespace's feed restarted", async () => {
    const log = memoryLog();
    const { listeners, events } = recorder();
    const feed = new LiveFeed(log.read, listeners);
    log.append(1, 2);
    feed.start("ns", 0n);
    const open = log.hold();
    const stale = feed.wake("ns");
    feed.stop("ns");
    feed.start("ns", 2n);
    open();
    await stale;
    log.append(3);
    await feed.wake("ns");
    expect(events).toEqual(["3"]);
  });

  it("retries a failed read until it succeeds", async () => {
    const log = memoryLog();
    const { listeners, events } = recorder();
    let failures = 2;
    const errors: unknown[] = [];
    const feed = new LiveFeed(
      async (...args) => {
        if (failures-- > 0) throw new Error("connection lost");
        return log.read(...args);
      },
      listeners,
      { retryMs: 1, onRead: (_, error) => void (error && errors.push(error)) },
    );
    log.append(1);
    feed.start("ns", 0n);
    await feed.wake("ns");
    const deadline = Date.now() + 5_000;
    while (events.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 1));
    expect(events).toEqual(["1"]);
    expect(errors).toHaveLength(2);
  });
});

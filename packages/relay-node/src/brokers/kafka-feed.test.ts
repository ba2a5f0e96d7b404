import type { LogMessage } from "@pubsubbud/relay-core";
import { DEFAULT_RETENTION } from "@pubsubbud/relay-core";
import { describe, expect, it } from "vitest";
import { NamespaceFeed } from "./kafka-feed.js";

const record = (offset: number, id: string, sender?: string): LogMessage => ({
  channel: "c",
  id,
  data: offset,
  ts: 1_000 + offset,
  offset: String(offset),
  ...(sender ? { headers: { sender } } : {}),
});

function feedFrom(start: number, from: number) {
  const delivered: string[] = [];
  const feed = new NamespaceFeed({
    retention: { ...DEFAULT_RETENTION, maxMessages: 4 },
    start: BigInt(start),
    from: BigInt(from),
    deliver: (m) => void delivered.push(m.offset),
    now: () => 1_000,
  });
  return { feed, delivered };
}

describe("NamespaceFeed", () => {
  it("delivers only while live, each record once, skipping copies of a key it already read", () => {
    const { feed, delivered } = feedFrom(0, 2);
    feed.accept([record(0, "a"), record(1, "b")], 2n);
    feed.live = true;
    feed.accept([record(1, "b"), record(2, "a"), record(3, "a", "bob"), record(4, "c")], 5n);
    expect(delivered).toEqual(["3", "4"]);
    expect(feed.decided(2n)).toBe(0n);
    expect(feed.decided(3n)).toBeNull();
    expect(feed.firstCopy("1:b:a")).toBeUndefined();
    expect(feed.firstCopy("3:bob:a")).toBe(3n);
  });

  it("says nothing of records read before its window was whole, not read yet, or pruned", () => {
    const { feed } = feedFrom(0, 2);
    feed.accept(
      [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => record(n, `m${n}`)),
      12n,
    );
    expect(feed.cursor).toBe(12n);
    expect(feed.decided(1n)).toBeUndefined();
    expect(feed.decided(12n)).toBeUndefined();
    expect(feed.decided(6n)).toBeUndefined();
    expect(feed.decided(8n)).toBeNull();
  });

  it("wakes a waiter once its offset is judged, and times out otherwise", async () => {
    const { feed } = feedFrom(0, 0);
    const waiting = feed.past(1n, 60_000);
    feed.accept([record(0, "a"), record(1, "b")], 2n);
    expect(await waiting).toBe(true);
    expect(await feed.past(5n, 1)).toBe(false);
  });
});

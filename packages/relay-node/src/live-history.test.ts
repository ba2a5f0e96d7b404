import { describe, expect, it } from "vitest";
import { LiveHistory } from "./live-history.js";

const figures = (n: number) => ({
  connections: n,
  counters: { published: n * 10, fannedOut: n * 20, deliveries: n * 30 },
});

describe("LiveHistory", () => {
  it("keeps the last samples oldest first, dropping the oldest once full", () => {
    const history = new LiveHistory(1000, 3);
    expect(history.history()).toEqual({ intervalMs: 1000, points: [] });
    for (let n = 1; n <= 5; n++) history.sample(figures(n), n * 1000);
    expect(history.history().points).toEqual([
      { t: 3000, connections: 3, published: 30, fannedOut: 60, deliveries: 90 },
      { t: 4000, connections: 4, published: 40, fannedOut: 80, deliveries: 120 },
      { t: 5000, connections: 5, published: 50, fannedOut: 100, deliveries: 150 },
    ]);
  });
});

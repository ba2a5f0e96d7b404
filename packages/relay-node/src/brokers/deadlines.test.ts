/** Deadlines under vitest's fake clock: a fake for timing only, so time goes by when told to. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Deadline, Deadlines } from "./deadlines.js";

describe("Deadlines", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("passes each deadline in the order they were set, skips answered ones, with one timer for all", () => {
    const deadlines = new Deadlines(1_000);
    const passed: string[] = [];
    const a = deadlines.start();
    a.onPass(() => passed.push("a"));
    vi.advanceTimersByTime(400);
    const b = deadlines.start();
    b.onPass(() => passed.push("b"));
    const c = deadlines.start();
    c.onPass(() => passed.push("c"));
    expect(vi.getTimerCount()).toBe(1);
    c.done();
    vi.advanceTimersByTime(600);
    expect(passed).toEqual(["a"]);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(400);
    expect(passed).toEqual(["a", "b"]);
    expect([a.passed, b.passed, c.passed]).toEqual([true, true, false]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("races work: the work's answer before the deadline, the fallback after it", async () => {
    const deadline = new Deadline(Number.POSITIVE_INFINITY);
    expect(await deadline.race(Promise.resolve("work"), () => "late")).toBe("work");
    const never = new Promise<string>(() => {});
    const raced = deadline.race(never, () => {
      throw new Error("late");
    });
    deadline.pass();
    await expect(raced).rejects.toThrow("late");
    const fallback = vi.fn(() => "at once");
    expect(await deadline.race(never, fallback)).toBe("at once");
  });
});

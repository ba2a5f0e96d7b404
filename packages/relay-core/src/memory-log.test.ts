import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION, MemoryLog } from "./memory-log.js";

const setup = (retention: Partial<typeof DEFAULT_RETENTION> = {}) => {
  let now = 1_000_000;
  const log = new MemoryLog("E1", { ...DEFAULT_RETENTION, ...retention }, () => now);
  const add = (id: string) => log.append({ channel: "c", id, data: id }).outcome;
  return { log, add, advance: (ms: number) => (now += ms) };
};

describe("MemoryLog", () => {
  it("replays exactly the messages after an offset, and everything after the empty offset", () => {
    const { log, add } = setup();
    for (const id of ["a", "b", "c"]) add(id);
    expect(log.since({ epoch: "E1", offset: "1" })?.map((m) => m.id)).toEqual(["b", "c"]);
    expect(log.since({ epoch: "E1", offset: "" })?.map((m) => m.id)).toEqual(["a", "b", "c"]);
    expect(log.since({ epoch: "E1", offset: "3" })).toEqual([]);
    expect(log.head()).toEqual({ epoch: "E1", offset: "3" });
  });

  it("refuses to replay across epochs, past retention by count or age, or from unknown offsets", () => {
    const { log, add, advance } = setup({ maxMessages: 2, maxAgeMs: 1000 });
    for (const id of ["a", "b", "c"]) add(id);
    expect(log.since({ epoch: "OTHER", offset: "3" })).toBeUndefined();
    expect(log.since({ epoch: "E1", offset: "" })).toBeUndefined();
    expect(log.since({ epoch: "E1", offset: "1" })?.map((m) => m.id)).toEqual(["b", "c"]);
    expect(log.since({ epoch: "E1", offset: "99" })).toBeUndefined();
    expect(log.since({ epoch: "E1", offset: "x" })).toBeUndefined();
    advance(1001);
    expect(log.since({ epoch: "E1", offset: "2" })).toBeUndefined();
    expect(log.since({ epoch: "E1", offset: "3" })).toEqual([]);
  });

  it("acknowledges a repeated id with the first offset inside the dedupe window, and not after it", () => {
    const { add, advance } = setup({ dedupeWindowMs: 500 });
    expect(add("m")).toEqual({ offset: "1", duplicate: false });
    expect(add("m")).toEqual({ offset: "1", duplicate: true });
    advance(501);
    expect(add("m")).toEqual({ offset: "2", duplicate: false });
  });
});

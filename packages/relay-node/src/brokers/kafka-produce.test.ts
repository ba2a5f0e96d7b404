import { describe, expect, it } from "vitest";
import { Deadline } from "./deadlines.js";
import {
  NotSentError,
  type OutgoingRecord,
  ProduceQueue,
  UnansweredError,
} from "./kafka-produce.js";

const record = (text: string, size = 1): OutgoingRecord => ({
  key: Buffer.from("c"),
  value: Buffer.from(text.padEnd(size, ".")),
  headers: new Map(),
});

/** A deadline that passes only when the test says so. */
const later = () => new Deadline(Number.POSITIVE_INFINITY);

/** A log per topic behind a send that answers when told to, as a slow Kafka would. */
function fakeKafka() {
  const logs = new Map<string, string[]>();
  const requests: Array<{ topic: string; values: string[]; answer: (error?: Error) => void }> = [];
  const send = (topic: string, records: OutgoingRecord[]) =>
    new Promise<bigint>((resolve, reject) => {
      const values = records.map((r) => r.value.toString());
      requests.push({
        topic,
        values,
        answer: (error) => {
          if (error) return reject(error);
          const log = logs.get(topic) ?? [];
          logs.set(topic, [...log, ...values]);
          resolve(BigInt(log.length));
        },
      });
    });
  return { logs, requests, send };
}

describe("ProduceQueue", () => {
  it("keeps one request in flight per topic, batches what waits behind it, and answers each record's offset", async () => {
    const kafka = fakeKafka();
    const queue = new ProduceQueue(kafka.send, { maxTopicsInFlight: 2 });
    const offsets = ["a1", "a2", "b1", "a3", "c1", "a4"].map((v) =>
      queue.push(v[0] as string, record(v), later()),
    );
    expect(kafka.requests.map((r) => r.values)).toEqual([["a1"], ["b1"]]);
    kafka.requests[0]?.answer();
    await offsets[0];
    expect(kafka.requests.map((r) => r.values).slice(2)).toEqual([["a2", "a3", "a4"]]);
    kafka.requests[1]?.answer();
    kafka.requests[2]?.answer();
    await Promise.resolve();
    await offsets[5];
    kafka.requests[3]?.answer();
    expect(await Promise.all(offsets)).toEqual([0n, 1n, 0n, 2n, 0n, 3n]);
    expect(kafka.logs.get("a")).toEqual(["a1", "a2", "a3", "a4"]);
  });

  it("splits a batch at the byte limit and keeps the order of what stays behind", async () => {
    const kafka = fakeKafka();
    const queue = new ProduceQueue(kafka.send, { maxBatchBytes: 400 });
    const pushed = ["t0", "t1", "t2", "t3"].map((v) => queue.push("t", record(v, 100), later()));
    kafka.requests[0]?.answer();
    await pushed[0];
    expect(kafka.requests.map((r) => r.values.map((v) => v.slice(0, 2)))).toEqual([
      ["t0"],
      ["t1", "t2"],
    ]);
    kafka.requests[1]?.answer();
    await pushed[2];
    kafka.requests[2]?.answer();
    expect(await Promise.all(pushed)).toEqual([0n, 1n, 2n, 3n]);
  });

  it("rejects a failed request's records with its error, and the records waiting behind it as not sent", async () => {
    const kafka = fakeKafka();
    const queue = new ProduceQueue(kafka.send);
    const first = queue.push("t", record("x"), later());
    const sent = [queue.push("t", record("y"), later()), queue.push("t", record("z"), later())];
    const other = queue.push("u", record("u1"), later());
    kafka.requests[0]?.answer();
    await first;
    const behind = queue.push("t", record("w"), later());
    const lost = new Error("Connection closed");
    kafka.requests[2]?.answer(lost);
    for (const pending of sent) await expect(pending).rejects.toBe(lost);
    await expect(behind).rejects.toBeInstanceOf(NotSentError);
    kafka.requests[1]?.answer();
    expect(await other).toBe(0n);
    expect(kafka.requests.map((r) => r.values)).toEqual([["x"], ["u1"], ["y", "z"]]);
  });

  it("past the deadline answers a sent record as unanswered, drops a waiting one unsent, and sends nothing past the stuck request", async () => {
    const kafka = fakeKafka();
    const queue = new ProduceQueue(kafka.send);
    const [early, waiting, fresh] = [later(), later(), later()];
    const sent = queue.push("t", record("x"), early);
    const dropped = queue.push("t", record("y"), waiting);
    early.pass();
    await expect(sent).rejects.toBeInstanceOf(UnansweredError);
    waiting.pass();
    await expect(dropped).rejects.toBeInstanceOf(NotSentError);
    const behind = queue.push("t", record("z"), fresh);
    const overdue = queue.push("t", record("w"), early);
    await expect(overdue).rejects.toBeInstanceOf(NotSentError);
    expect(kafka.requests.map((r) => r.values)).toEqual([["x"]]);
    kafka.requests[0]?.answer();
    await Promise.resolve();
    expect(kafka.requests.map((r) => r.values)).toEqual([["x"], ["z"]]);
    kafka.requests[1]?.answer();
    expect(await behind).toBe(1n);
    expect(kafka.logs.get("t")).toEqual(["x", "z"]);
  });

  it("drops unsent the waiting records nobody waits for any more, and sends the rest in order", async () => {
    const kafka = fakeKafka();
    const queue = new ProduceQueue(kafka.send);
    const first = queue.push("t", record("a"), later());
    const gone = { aborted: false };
    const orphans = ["b", "c"].map((v) => queue.push("t", record(v), later(), gone));
    const resends = ["b", "c"].map((v) => queue.push("t", record(v), later(), { aborted: false }));
    gone.aborted = true;
    kafka.requests[0]?.answer();
    await first;
    for (const orphan of orphans) await expect(orphan).rejects.toBeInstanceOf(NotSentError);
    kafka.requests[1]?.answer();
    expect(await Promise.all(resends)).toEqual([1n, 2n]);
    expect(kafka.logs.get("t")).toEqual(["a", "b", "c"]);
  });
});

import { PublishUncertainError } from "@pubsubbud/relay-core";
import { describe, expect, it } from "vitest";
import { OwnEchoes } from "./own-echoes.js";

const never = new Promise<never>(() => {});

/** Echoes with room for one publish on its way, taken by `first` (its key "a"). */
async function full() {
  const echoes = new OwnEchoes(1);
  await echoes.turn(never);
  return { echoes, first: echoes.wait("ns", "a", 1) };
}

describe("OwnEchoes", () => {
  it("answers a waiting publish with its own copy, or as a duplicate of another copy of its key", async () => {
    const echoes = new OwnEchoes(10);
    await echoes.turn(never);
    const own = echoes.wait("ns", "k", 1);
    await echoes.turn(never);
    const retry = echoes.wait("ns", "k", 2);
    echoes.settle("k", "7", 1);
    await expect(own.copy).resolves.toEqual({ offset: "7", duplicate: false });
    await expect(retry.copy).resolves.toEqual({ offset: "7", duplicate: true });
  });

  it("calls the earlier numbers of its own stream uncertain once a later one came back", async () => {
    const echoes = new OwnEchoes(10);
    const waits = [];
    for (const n of [1, 2, 3]) {
      await echoes.turn(never);
      waits.push(echoes.wait("ns", `k${n}`, n));
    }
    echoes.overtaken("ns", 3);
    await expect(waits[0]?.copy).rejects.toBeInstanceOf(PublishUncertainError);
    await expect(waits[1]?.copy).rejects.toBeInstanceOf(PublishUncertainError);
    echoes.settle("k3", "1", 3);
    await expect(waits[2]?.copy).resolves.toEqual({ offset: "1", duplicate: false });
  });

  it("holds publishes past its capacity until earlier ones settle, in order, and refuses one whose deadline came first", async () => {
    const { echoes, first } = await full();
    const order: string[] = [];
    const second = echoes.turn(never).then(() => void order.push("second"));
    const third = echoes.turn(never).then(() => void order.push("third"));
    let expire: (error: Error) => void = () => {};
    const late = echoes.turn(new Promise<never>((_, reject) => (expire = reject)));
    expire(new Error("deadline"));
    await expect(late).rejects.toThrow(/not sent/);
    expect(order).toEqual([]);
    first.cancel();
    await second;
    expect(order).toEqual(["second"]);
    echoes.wait("ns", "b", 2).cancel();
    await third;
    expect(order).toEqual(["second", "third"]);
  });

  it("passes a turn that came after the deadline won on to the next, leaving the others queued", async () => {
    const { echoes, first } = await full();
    let expire: (error: Error) => void = () => {};
    const late = echoes.turn(new Promise<never>((_, reject) => (expire = reject)));
    const order: string[] = [];
    const next = echoes.turn(never).then(() => void order.push("next"));
    const last = echoes.turn(never).then(() => void order.push("last"));
    // The deadline passes, and in the same turn of the event loop the first copy settles.
    expire(new Error("deadline"));
    first.cancel();
    await expect(late).rejects.toThrow(/not sent/);
    await next;
    expect(order).toEqual(["next"]);
    // One turn on its way, not two, and the last publish still holds its place.
    echoes.wait("ns", "b", 2).cancel();
    await last;
    expect(order).toEqual(["next", "last"]);
  });

  it("does not send a waiting publish whose publisher is gone when its turn comes; the turn goes on", async () => {
    const { echoes, first } = await full();
    const publisher = { aborted: false };
    const orphan = echoes.turn(never, publisher);
    const order: string[] = [];
    const resend = echoes.turn(never, { aborted: false }).then(() => void order.push("resend"));
    publisher.aborted = true;
    first.cancel();
    await expect(orphan).rejects.toThrow(/connection closed/);
    await resend;
    expect(order).toEqual(["resend"]);
  });
});

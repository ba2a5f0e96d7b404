/**
 * Typed channels with three real Standard Schema libraries (zod, valibot, arktype) through a real
 * relay-node: valid data flows typed both ways, refused outgoing data is never sent, refused
 * incoming messages become `invalid` events instead of reaching the handler.
 */
import {
  type ClientError,
  channel,
  createClient,
  type InvalidDetail,
  type Message,
  type PubsubBudClient,
} from "@pubsubbud/client";
import { type RunningRelay, startRelay } from "@pubsubbud/relay-node";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { type } from "arktype";
import * as v from "valibot";
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import WebSocket from "ws";
import { z } from "zod";
import { waitFor } from "../helpers/wait.js";

interface Chat {
  text: string;
  n: number;
}
const schemas: Array<{ name: string; schema: StandardSchemaV1<Chat, Chat> }> = [
  { name: "zod", schema: z.object({ text: z.string(), n: z.number() }) },
  { name: "valibot", schema: v.object({ text: v.string(), n: v.number() }) },
  { name: "arktype", schema: type({ text: "string", n: "number" }) },
];

let relay: RunningRelay;
beforeAll(async () => {
  relay = await startRelay({ port: 0 });
});
afterAll(() => relay.close());
const clients: PubsubBudClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
const connect = () => {
  const client = createClient({ url: `${relay.wsUrl}/ns/typed`, WebSocket });
  clients.push(client);
  return client;
};

describe.each(schemas)("typed channel with $name", ({ schema }) => {
  it("delivers valid messages typed and turns refused ones into invalid events", async () => {
    const client = connect();
    const chat = channel(client, "chat.*", schema);
    const got: Chat[] = [];
    const invalid: InvalidDetail[] = [];
    client.addEventListener("invalid", (e) => void invalid.push(e.detail));
    await chat.subscribe((m) => void got.push(m.data)).ready;
    // An untyped publisher sends what it likes.
    const other = connect();
    await other.publish("chat.a", { text: "no n" });
    await other.publish("chat.a", { text: "ok", n: 1 });
    await waitFor(() => got.length === 1 && invalid.length === 1, "one delivery, one refusal");
    expect(got).toEqual([{ text: "ok", n: 1 }]);
    expect(invalid[0]?.pattern).toBe("chat.*");
    expect(invalid[0]?.message.data).toEqual({ text: "no n" });
    expect(invalid[0]?.issues.length).toBeGreaterThan(0);
  });

  it("refuses invalid outgoing data before sending, and channels outside the pattern", async () => {
    const client = connect();
    const chat = channel(client, "chat.*", schema);
    const raw: unknown[] = [];
    await connect().subscribe("chat.*", (m) => void raw.push(m.data)).ready;
    const refused = (await chat
      .publish("chat.a", { text: 5 } as unknown as Chat)
      .catch((error: unknown) => error)) as ClientError;
    expect(refused).toMatchObject({ code: "invalid_data" });
    expect(refused.issues?.length).toBeGreaterThan(0);
    expect(refused.message).toMatch(/not sent: the schema of chat\.\* refused the data/);
    await expect(chat.publish("news.a", { text: "x", n: 1 })).rejects.toMatchObject({
      code: "bad_argument",
    });
    await chat.publish("chat.a", { text: "sent", n: 2 });
    await waitFor(() => raw.length === 1, "the valid publish");
    expect(raw).toEqual([{ text: "sent", n: 2 }]);
  });
});

describe("typed channels", () => {
  it("infers payload types from the schema", () => {
    const chat = channel(connect(), "chat.*", z.object({ text: z.string() }));
    expectTypeOf(chat.publish).parameter(1).toEqualTypeOf<{ text: string }>();
    expectTypeOf(chat.subscribe)
      .parameter(0)
      .parameter(0)
      .toEqualTypeOf<Message<{ text: string }>>();
  });

  it("sends the schema's input and delivers its output, so a transform applies once", async () => {
    const client = connect();
    const temps = channel(
      client,
      "temp.*",
      z.object({ c: z.number() }).transform(({ c }) => ({ c, f: c * 1.8 + 32 })),
    );
    const got: Array<{ c: number; f: number }> = [];
    const wire: unknown[] = [];
    await temps.subscribe((m) => void got.push(m.data)).ready;
    await client.subscribe("temp.*", (m) => void wire.push(m.data)).ready;
    await temps.publish("temp.kitchen", { c: 100 });
    await waitFor(() => got.length === 1 && wire.length === 1, "delivery");
    expect(got).toEqual([{ c: 100, f: 212 }]);
    expect(wire).toEqual([{ c: 100 }]);
  });

  it("keeps delivery order with an asynchronous schema", async () => {
    const client = connect();
    // A Standard Schema whose validation resolves later for earlier messages.
    const slowFirst: StandardSchemaV1<number, number> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: (value) =>
          new Promise((resolve) =>
            setTimeout(() => resolve({ value: value as number }), 50 - (value as number)),
          ),
      },
    };
    const numbers = channel(client, "n.*", slowFirst);
    const got: number[] = [];
    await numbers.subscribe((m) => void got.push(m.data)).ready;
    for (let i = 0; i < 20; i++) await numbers.publish("n.x", i);
    await waitFor(() => got.length === 20, "20 deliveries");
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

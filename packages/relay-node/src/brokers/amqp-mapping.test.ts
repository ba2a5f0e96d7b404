/**
 * How RabbitMQ deliveries are read (pure, no server): the routing key splits at its first dot
 * (dots in the namespace travel as `%2E`), the relay's stamp is taken out of the headers, a tail
 * marker is told apart from a message, a key that names no channel is refused, and a client's own
 * `pubsubbud-seq` header never leaves as the relay's stamp.
 */
import { describe, expect, it } from "vitest";
import { type AmqpDelivery, publishedForm, readDelivery } from "./amqp-mapping.js";
import { SEQ_HEADER, TAIL_CHANNEL } from "./feed-sequence.js";

const delivery = (routingKey: string, headers: Record<string, unknown> = {}, body = "{}") =>
  ({
    fields: { routingKey },
    properties: { messageId: "m1", headers },
    content: Buffer.from(body),
  }) satisfies AmqpDelivery;

describe("readDelivery", () => {
  it("reads the namespace, channel, id, data, typed headers and the stamp", () => {
    const { properties } = publishedForm(
      { channel: "sensor.temp", id: "m1", data: { c: 21 }, headers: { unit: "C", n: 2 } },
      "stream:1:7",
    );
    const read = readDelivery({
      fields: { routingKey: "site%2Eeu.sensor.temp" },
      properties,
      content: Buffer.from('{"c":21}'),
    });
    expect(read).toEqual({
      kind: "message",
      ns: "site.eu",
      input: { channel: "sensor.temp", id: "m1", data: { c: 21 }, headers: { unit: "C", n: 2 } },
      stamp: "stream:1:7",
    });
  });

  it("tells a tail marker from a message, and refuses a key that names no channel", () => {
    const stamp = Buffer.from("stream:1:9");
    expect(readDelivery(delivery(`ns.${TAIL_CHANNEL}`, { [SEQ_HEADER]: stamp }))).toEqual({
      kind: "tail",
      ns: "ns",
      stamp: "stream:1:9",
    });
    expect(readDelivery(delivery("ns.a*b"))).toEqual({ kind: "invalid", key: "ns.a*b" });
    expect(readDelivery(delivery("nodot"))).toEqual({ kind: "invalid", key: "nodot" });
  });

  it("gives a foreign message without messageId an id, and keeps a payload that is not JSON", () => {
    const read = readDelivery({
      fields: { routingKey: "ns.sensor" },
      properties: {},
      content: Buffer.from("hello"),
    });
    expect(read).toMatchObject({ kind: "message", input: { channel: "sensor", data: "hello" } });
    expect(read.kind === "message" && read.input.id).toMatch(/^amqp-/);
  });
});

describe("publishedForm", () => {
  it("carries the relay's stamp, never a client's own pubsubbud-seq header", () => {
    const { properties } = publishedForm(
      { channel: "c", id: "m1", data: 1, headers: { [SEQ_HEADER]: "forged" } },
      "stream:1:1",
    );
    expect(properties.headers[SEQ_HEADER]).toBe("stream:1:1");
    expect(properties.messageId).toBe("m1");
  });
});

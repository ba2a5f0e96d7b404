/**
 * How MQTT PUBLISH packets are read (pure, no server): the topic below `<prefix>/` splits at its
 * first `/` into namespace and channel (percent-escapes undone), the relay's stamp and the id come
 * out of the user properties (a repeated property's last value wins), a tail marker is told apart
 * from a message, and a client's own `pubsubbud-seq` or `pubsubbud-id` header is not sent on.
 */
import { describe, expect, it } from "vitest";
import { SEQ_HEADER, TAIL_CHANNEL } from "./feed-sequence.js";
import {
  channelToTopic,
  ID_PROPERTY,
  readPublish,
  topicToChannel,
  userPropertiesOf,
} from "./mqtt-mapping.js";

const base = "pubsubbud/";
const payload = Buffer.from('{"c":21}');

describe("readPublish", () => {
  it("reads namespace, channel, id, data, headers and the stamp from a relay's publish", () => {
    const properties = {
      ...userPropertiesOf({ channel: "a+b", id: "m1", data: 0, headers: { t: true } }),
    };
    const topic = `${base}ns/${channelToTopic("room/a+b#1")}`;
    expect(
      readPublish(base, topic, payload, { ...properties, [SEQ_HEADER]: ["old", "s:1:2"] }),
    ).toEqual({
      kind: "message",
      ns: "ns",
      input: { channel: "room/a+b#1", id: "m1", data: { c: 21 }, headers: { t: true } },
      stamp: "s:1:2",
    });
  });

  it("tells a tail marker from a message; ignores other topics; refuses a topic that names no channel", () => {
    expect(
      readPublish(base, `${base}ns/${TAIL_CHANNEL}`, Buffer.alloc(0), { [SEQ_HEADER]: "s:1:3" }),
    ).toEqual({ kind: "tail", ns: "ns", stamp: "s:1:3" });
    expect(readPublish(base, "other/ns/x", payload)).toBeUndefined();
    expect(readPublish(base, `${base}ns`, payload)).toBeUndefined();
    expect(readPublish(base, `${base}ns/a*b`, payload)).toEqual({ kind: "invalid" });
  });

  it("gives a foreign producer's message an id", () => {
    const read = readPublish(base, `${base}ns/sensor`, payload);
    expect(read?.kind === "message" && read.input.id).toMatch(/^mqtt-/);
  });
});

describe("userPropertiesOf", () => {
  it("sends the message id, never a client's own id or stamp header", () => {
    const properties = userPropertiesOf({
      channel: "c",
      id: "m1",
      data: 1,
      headers: { [ID_PROPERTY]: "forged", [SEQ_HEADER]: "forged", unit: "C" },
    });
    expect(properties).toEqual({ [ID_PROPERTY]: "m1", unit: "C" });
  });

  it("round-trips channels through topics", () => {
    for (const channel of ["a.b", "50%", "x+y#z", "a/b", "nul\0"])
      expect(topicToChannel(channelToTopic(channel))).toBe(channel);
  });
});

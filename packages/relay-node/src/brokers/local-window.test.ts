/**
 * The relay-local window (MQTT, RabbitMQ) fed by hand: the order in which the server hands it
 * messages is what a fault run can only hit by chance (the client library resends a message
 * from before a reconnect after newer ones went through).
 */
import { DEFAULT_RETENTION, type LogMessage, PublishUncertainError } from "@pubsubbud/relay-core";
import { describe, expect, it } from "vitest";
import { LocalWindows } from "./local-window.js";
import { Listeners } from "./shared.js";

const windowsOf = (publishTimeoutMs: number) =>
  new LocalWindows({
    retention: DEFAULT_RETENTION,
    lingerMs: 0,
    listeners: new Listeners(),
    publishTimeoutMs,
    maxOnTheirWay: 10,
    refused: () => false,
    subscribe: async () => {},
    unsubscribe: async () => {},
    sendTail: () => {},
  });

describe("LocalWindows", () => {
  it("drops a resend that comes behind newer numbers of its stream, after the gap they announced", async () => {
    const windows = windowsOf(1_000);
    const delivered: string[] = [];
    let gaps = 0;
    await windows.listen("ns", {
      message: (message: LogMessage) => void delivered.push(message.id),
      gap: () => void gaps++,
    });
    const stream = "otherinstance.abc";
    const send = (n: number) =>
      windows.receive("ns", { channel: "c", id: `m${n}`, data: n }, `${stream}:${n}:1`);
    send(1);
    send(2);
    send(5); // 3 and 4 did not come: a hole, announced as a gap
    send(6);
    send(3); // the resends, behind 6
    send(4);
    send(7);
    expect(delivered).toEqual(["m1", "m2", "m5", "m6", "m7"]);
    expect(gaps).toBe(1);
  });

  it("answers publish_uncertain at the publish deadline when the broker never confirms", async () => {
    const windows = windowsOf(50);
    // A broker that takes the message and never confirms it (a hung connection).
    const hung = windows.publish(
      "ns",
      { channel: "c", id: "m1", data: 1 },
      () => new Promise(() => {}),
    );
    await expect(hung).rejects.toThrow(
      /no acknowledgement and own copy from the broker within 50 ms/,
    );
    await expect(hung).rejects.toBeInstanceOf(PublishUncertainError);
  });
});

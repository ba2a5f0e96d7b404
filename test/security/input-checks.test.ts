/**
 * Inputs both relays (relay-node on a port, relay-worker in workerd) must refuse with an answer
 * that says what to fix, rather than change or misname: binary frames, numbers JSON cannot carry
 * (`1e400` parses to Infinity and would reach subscribers as null), and header limits counted in
 * UTF-8 bytes rather than UTF-16 code units.
 */
import { SUBPROTOCOL } from "@pubsubbud/protocol";
import { createRelay } from "@pubsubbud/relay-node";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRaw, type RawPeer, rawClientId } from "../helpers/raw.js";
import { waitFor } from "../helpers/wait.js";
import { startWorker } from "../helpers/workerd.js";

interface Target {
  wsUrl: string;
  post(path: string, body: string): Promise<Response>;
  stop(): Promise<void>;
}

const BINARY_ANSWER =
  "binary frames are not part of the protocol; send each frame as a JSON text frame";

/** A peer past its welcome, subscribed to every channel of `ns`. */
async function subscribed(target: Target, ns: string): Promise<RawPeer> {
  const peer = await openRaw(`${target.wsUrl}/ns/${ns}`);
  peer.send({
    type: "hello",
    client: rawClientId("in"),
    subscriptions: [{ id: "all", pattern: "*" }],
  });
  await peer.next((f) => f.type === "subscribed", "subscribed");
  return peer;
}

/** The answer to the publish `id`: its ack or its error. */
const answerTo = (peer: RawPeer, id: string) =>
  peer.next((f) => (f.type === "ack" || f.type === "error") && "id" in f && f.id === id, id);

const delivered = (peer: RawPeer) =>
  peer.frames.filter((f) => f.type === "message").map((f) => (f as { id: string }).id);

function inputChecks(name: string, start: () => Promise<Target>) {
  describe(`input checks on ${name}`, () => {
    let target: Target;
    beforeAll(async () => {
      target = await start();
    });
    afterAll(() => target.stop());

    it("answers a binary frame with bad_frame saying to send JSON text, and keeps the connection", async () => {
      const peer = await subscribed(target, "binary");
      const sender = await binaryPeer(`${target.wsUrl}/ns/binary`);
      sender.send(JSON.stringify({ type: "hello", client: rawClientId("bin") }));
      await sender.next((f) => f.type === "welcome");
      sender.send(Buffer.from('{"type":"ping"}'));
      expect(await sender.next((f) => f.type === "error")).toEqual({
        type: "error",
        code: "bad_frame",
        message: BINARY_ANSWER,
      });
      sender.send(JSON.stringify({ type: "publish", id: "after", channel: "b.x", data: 1 }));
      expect(await sender.next((f) => f.type === "ack")).toMatchObject({ id: "after" });
      await peer.next((f) => f.type === "message", "the publish after the binary frame");
      sender.close();
      peer.close();
    });

    it("refuses a binary first frame with hello_required and close 4400, naming the binary frame", async () => {
      const sender = await binaryPeer(`${target.wsUrl}/ns/binary-first`);
      sender.send(Buffer.from('{"type":"hello","client":"abcdefgh"}'));
      const error = await sender.next((f) => f.type === "error");
      expect(error).toMatchObject({ code: "hello_required" });
      expect(error.message).toContain(BINARY_ANSWER);
      expect(await sender.closed).toMatchObject({ code: 4400 });
    });

    it("refuses data holding a number past JSON's range instead of delivering it as null", async () => {
      const peer = await subscribed(target, "overflow");
      peer.send('{"type":"publish","id":"big","channel":"n.x","data":{"amount":1e400}}');
      peer.send(`{"type":"publish","id":"long","channel":"n.x","data":[${"9".repeat(400)}]}`);
      peer.send('{"type":"publish","id":"text","channel":"n.x","data":{"amount":"1e400"}}');
      expect(await answerTo(peer, "big")).toMatchObject({
        type: "error",
        code: "bad_frame",
        message: expect.stringMatching(/data\.amount holds Infinity .*send it as a string/),
      });
      expect(await answerTo(peer, "long")).toMatchObject({ type: "error", code: "bad_frame" });
      expect(await answerTo(peer, "text")).toMatchObject({ type: "ack" });
      await peer.next((f) => f.type === "message" && f.id === "text", "the string's delivery");
      expect(delivered(peer)).toEqual(["text"]);
      peer.close();
    });

    it("refuses such a number in an HTTP publish with 400 bad_frame", async () => {
      const refused = await target.post(
        "/v1/ns/overflow/publish",
        '{"channel":"n.x","data":1e400}',
      );
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({
        code: "bad_frame",
        message: expect.stringMatching(/^data holds Infinity/),
      });
    });

    it("counts header keys and values in UTF-8 bytes: 64 and 1024 pass, one more is refused", async () => {
      const peer = await subscribed(target, "headers");
      const cases: Array<[string, Record<string, string>, string]> = [
        ["k64", { [`${"€".repeat(21)}k`]: "v" }, "ack"],
        ["k65", { [`${"€".repeat(21)}é`]: "v" }, "error"],
        ["k192", { ["€".repeat(64)]: "v" }, "error"],
        ["v1024", { v: `${"€".repeat(341)}v` }, "ack"],
        ["v1025", { v: `${"€".repeat(341)}é` }, "error"],
        ["v3072", { v: "€".repeat(1024) }, "error"],
      ];
      for (const [id, headers] of cases)
        peer.send({ type: "publish", id, channel: "h.x", data: 1, headers });
      for (const [id, , type] of cases) {
        const answer = await answerTo(peer, id);
        expect(answer, id).toMatchObject(type === "ack" ? { type } : { type, code: "bad_headers" });
      }
      peer.close();
    });
  });
}

/** A socket that can send binary frames (a raw peer sends text only), and what it received. */
async function binaryPeer(url: string) {
  const ws = new WebSocket(url, SUBPROTOCOL);
  const frames: Array<{ type: string; message?: string; [key: string]: unknown }> = [];
  ws.on("message", (data) => {
    const parsed = JSON.parse(String(data));
    frames.push(...(Array.isArray(parsed) ? parsed : [parsed]));
  });
  const closed = new Promise<{ code: number }>((resolve) =>
    ws.on("close", (code) => resolve({ code })),
  );
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return {
    send: (data: string | Buffer) => ws.send(data),
    closed,
    close: () => ws.close(),
    async next(match: (frame: (typeof frames)[number]) => boolean) {
      let found: (typeof frames)[number] | undefined;
      await waitFor(() => {
        found = frames.find(match);
        return found !== undefined;
      }, "a frame");
      return found as (typeof frames)[number];
    },
  };
}

const json = { "content-type": "application/json" };

inputChecks("relay-node", async () => {
  const relay = await createRelay().listen({ port: 0 });
  return {
    wsUrl: relay.wsUrl,
    post: (path, body) => fetch(`${relay.url}${path}`, { method: "POST", headers: json, body }),
    stop: () => relay.close(1000),
  };
});

inputChecks("relay-worker in workerd", async () => {
  const { worker, port } = await startWorker({ ANONYMOUS: "all" });
  return {
    wsUrl: `ws://127.0.0.1:${port}`,
    post: (path, body) =>
      worker.dispatchFetch(`http://127.0.0.1:${port}${path}`, {
        method: "POST",
        headers: json,
        body,
      }) as never,
    stop: () => worker.dispose(),
  };
});

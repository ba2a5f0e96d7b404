import { describe, expect, it } from "vitest";
import { decodeClientFrames } from "./codec.js";
import { closeAdvice, parseRetryReason, retryReason } from "./codes.js";
import { decodeRelayFrames, joinBatch } from "./wire.js";

describe("client frame decoding", () => {
  it("decodes a single frame and a batch", () => {
    expect(decodeClientFrames('{"type":"ping"}')).toEqual([{ ok: true, frame: { type: "ping" } }]);
    const batch = decodeClientFrames(
      '[{"type":"subscribe","id":"s1","pattern":"a.*"},{"type":"publish","id":"m1","channel":"a.b","data":{"x":1}}]',
    );
    expect(batch.map((r) => r.ok && r.frame.type)).toEqual(["subscribe", "publish"]);
  });

  it("carries a ping's receive credit and refuses a credit that is not a count", () => {
    expect(decodeClientFrames('{"type":"ping","rx":1048576}')[0]).toEqual({
      ok: true,
      frame: { type: "ping", rx: 1048576 },
    });
    for (const rx of ["-1", "1.5", '"7"', "1e300"])
      expect(decodeClientFrames(`{"type":"ping","rx":${rx}}`)[0]).toMatchObject({
        ok: false,
        code: "bad_frame",
      });
  });

  it("answers each kind of bad input with its documented code", () => {
    expect(decodeClientFrames("{nope")[0]).toMatchObject({ ok: false, code: "bad_frame" });
    expect(decodeClientFrames('"str"')[0]).toMatchObject({ ok: false, code: "bad_frame" });
    expect(decodeClientFrames('{"type":"launch","id":"x"}')[0]).toMatchObject({
      ok: false,
      code: "unknown_type",
      id: "x",
    });
    expect(decodeClientFrames('{"type":"publish","id":"p1"}')[0]).toMatchObject({
      ok: false,
      code: "bad_frame",
      id: "p1",
    });
    expect(
      decodeClientFrames(
        '{"type":"publish","id":"p2","channel":"a","data":1,"headers":{"k":{"x":1}}}',
      )[0],
    ).toMatchObject({ ok: false, code: "bad_headers", id: "p2" });
    expect(decodeClientFrames("x".repeat(70_000))[0]).toMatchObject({
      ok: false,
      code: "frame_too_large",
    });
    const deep = `{"type":"publish","id":"d","channel":"a","data":${"[".repeat(40)}${"]".repeat(40)}}`;
    expect(decodeClientFrames(deep)[0]).toMatchObject({ ok: false, code: "too_deep" });
  });

  it("keeps __proto__ keys in data as plain data and never touches prototypes", () => {
    const [result] = decodeClientFrames(
      '{"type":"publish","id":"p","channel":"a","data":{"__proto__":{"polluted":1}}}',
    );
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
    expect(result?.ok).toBe(true);
    const data = (result as { frame: { data: object } }).frame.data;
    expect(Object.hasOwn(data, "__proto__")).toBe(true);
  });

  it("refuses a __proto__ header key instead of dropping it", () => {
    const [result] = decodeClientFrames(
      '{"type":"publish","id":"p","channel":"a","data":1,"headers":{"__proto__":"x"}}',
    );
    expect(result).toMatchObject({ ok: false, code: "bad_headers", id: "p" });
  });
});

describe("relay frame decoding", () => {
  it("accepts batches and drops unknown frame types", () => {
    const text = joinBatch([
      '{"type":"pong"}',
      '{"type":"future","x":1}',
      '{"type":"ack","id":"a","offset":"1"}',
    ]);
    expect(decodeRelayFrames(text)).toEqual([
      { type: "pong" },
      { type: "ack", id: "a", offset: "1" },
    ]);
  });
});

describe("close codes", () => {
  it("groups codes into reconnect, reconnect-after and stop", () => {
    expect(closeAdvice(4001)).toBe("reconnect");
    expect(closeAdvice(1006)).toBe("reconnect");
    expect(closeAdvice(4100)).toBe("reconnect-after");
    expect(closeAdvice(4401)).toBe("stop");
    expect(closeAdvice(1008)).toBe("stop");
    expect(parseRetryReason(retryReason(1500))).toBe(1500);
    expect(parseRetryReason("bye")).toBeUndefined();
  });
});

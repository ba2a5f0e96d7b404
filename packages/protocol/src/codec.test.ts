import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeClientFrames, validateClientFrame } from "./codec.js";
import { closeAdvice, parseRetryReason, retryReason } from "./codes.js";
import { clientFrameSchema } from "./frames.js";
import { BINARY_FRAME, decodeRelayFrames, joinBatch } from "./wire.js";

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

describe("numbers JSON cannot carry", () => {
  const publish = (data: string) => `{"type":"publish","id":"n1","channel":"a","data":${data}}`;
  const digits = (count: number) => `1${"0".repeat(count - 1)}`;

  it("refuses a publish whose data parses to Infinity, saying where and what to send instead", () => {
    for (const [data, path] of [
      ["1e400", "data"],
      ['{"amount":1e400}', "data.amount"],
      ['{"neg":-1E+309}', "data.neg"],
      [`[1,{"big":${digits(400)}}]`, "data[1].big"],
      [`{"x":[[${digits(250)}e99]]}`, "data.x[0][0]"],
      [`{"frac":${"9".repeat(309)}.5}`, "data.frac"],
      // The shortest run a 2-digit exponent can lift past the range: 210 digits.
      [`{"edge":${"9".repeat(210)}e99}`, "data.edge"],
    ]) {
      const [result] = decodeClientFrames(publish(data as string));
      expect(result).toMatchObject({ ok: false, code: "bad_frame", id: "n1" });
      expect((result as { message: string }).message).toMatch(
        new RegExp(
          `^invalid publish frame: ${(path as string).replace(/[[\].]/g, "\\$&")} holds -?Infinity .*send it as a string$`,
        ),
      );
    }
  });

  it("refuses it inside a batch without refusing the batch's other frames", () => {
    const results = decodeClientFrames(
      `[${publish("1")},{"type":"publish","id":"n2","channel":"a","data":[1e999]}]`,
    );
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(results[1]).toMatchObject({ code: "bad_frame", id: "n2" });
  });

  it("keeps numbers within range and such text inside strings", () => {
    for (const data of [
      "1.7976931348623157e308",
      "1e-400",
      digits(309),
      `${"9".repeat(209)}e99`,
      `0.${"0".repeat(400)}1`,
      '"1e400"',
      `{"text":"${digits(400)}","k1e999":true}`,
      `{"${digits(300)}":"e+123"}`,
    ]) {
      const [result] = decodeClientFrames(publish(data));
      expect(result?.ok, data.slice(0, 40)).toBe(true);
    }
  });

  it("refuses exactly the numbers that parse to ±Infinity, whatever their spelling and place", () => {
    // The reference is JSON.parse itself: the text pre-filter must never let one of them through.
    const digitRun = (min: number, max: number) =>
      fc
        .integer({ min, max })
        .chain((length) =>
          fc
            .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 9 }))
            .map(([first, rest]) => `${first}${String(rest).repeat(length - 1)}`),
        );
    const number = fc
      .tuple(
        fc.constantFrom("", "-"),
        fc.oneof(digitRun(1, 5), digitRun(200, 320)),
        fc.option(
          digitRun(1, 300).map((f) => `.${f}`),
          { nil: "" },
        ),
        fc.option(
          fc
            .tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.nat(999))
            .chain(([e, sign, exponent]) =>
              fc.nat(2).map((zeros) => `${e}${sign}${"0".repeat(zeros)}${exponent}`),
            ),
          { nil: "" },
        ),
      )
      .map((parts) => parts.join(""));
    const place = fc.constantFrom("%", '{"a":[1,%]}', '[{"b":{"c":%}}]', '{"s":"x","n":%}');
    fc.assert(
      fc.property(number, place, (literal, where) => {
        const [result] = decodeClientFrames(publish(where.replace("%", literal)));
        expect(result?.ok).toBe(Number.isFinite(JSON.parse(literal)));
      }),
      { numRuns: 1_000 },
    );
  });

  it("checks a parsed publish given to validateClientFrame too", () => {
    const raw = { type: "publish", id: "v", channel: "a", data: { n: Number.NaN } };
    expect(validateClientFrame(raw)).toMatchObject({ ok: false, code: "bad_frame", id: "v" });
  });
});

describe("binary frames", () => {
  it("answers the relay's binary marker with bad_frame and says to send JSON text", () => {
    expect(decodeClientFrames(BINARY_FRAME)).toEqual([
      {
        ok: false,
        code: "bad_frame",
        message: "binary frames are not part of the protocol; send each frame as a JSON text frame",
      },
    ]);
  });

  it("reads a text frame spelling a binary type as an unknown type, not as binary", () => {
    expect(decodeClientFrames('{"type":"binary"}')[0]).toMatchObject({ code: "unknown_type" });
    // No valid UTF-8 text decodes to a lone surrogate, so no text frame equals the marker.
    expect(new TextDecoder().decode(new TextEncoder().encode(BINARY_FRAME))).not.toBe(BINARY_FRAME);
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

describe("the hand-checked common frames", () => {
  // Values a field may hold, right and wrong: what a careless or hostile client sends.
  const value = fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.string({ minLength: 120, maxLength: 140 }),
    fc.constantFrom("", "abcdefgh", "abc-DEF_0123", "a b c d e f", "x".repeat(64), "x".repeat(65)),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.dictionary(
      fc.constantFrom("a", "sender", "b"),
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string())),
    ),
  );
  const id = fc.oneof(value, fc.string({ minLength: 1, maxLength: 128 }));
  // hello's nested parts: right, wrong, missing or with a foreign key.
  const nested = (fields: Record<string, fc.Arbitrary<unknown>>) =>
    fc.oneof(
      value,
      fc.record(fields),
      fc.record({ ...fields, extra: value }, { requiredKeys: [] }),
    );
  const positionPart = fc.oneof(
    value,
    fc.string({ maxLength: 128 }),
    fc.constantFrom("x".repeat(128), "x".repeat(129)),
  );
  const position = nested({ epoch: positionPart, offset: positionPart });
  const subscriptions = fc.oneof(
    value,
    fc.array(nested({ id, pattern: fc.oneof(value, fc.string()) }), { maxLength: 3 }),
    fc.array(fc.record({ id: fc.constant("s"), pattern: fc.constant("p") }), {
      minLength: 1023,
      maxLength: 1026,
    }),
  );
  const shaped = (type: string, fields: Record<string, fc.Arbitrary<unknown>>) =>
    fc.record({ type: fc.constant(type), ...fields }, { requiredKeys: ["type"] });
  const frame = fc
    .oneof(
      shaped("publish", { id, channel: value, data: value, headers: value }),
      shaped("subscribe", { id, pattern: value }),
      shaped("hello", { client: value, token: value }),
      shaped("hello", {
        client: fc.constantFrom("abcdefgh", "abc-DEF_0123", "x"),
        token: value,
        resume: position,
        subscriptions,
      }),
      // Any key on any of the three, foreign ones included.
      fc.record(
        {
          type: fc.constantFrom("publish", "subscribe", "hello"),
          id,
          channel: value,
          pattern: value,
          data: value,
          headers: value,
          client: value,
          token: value,
          resume: position,
          subscriptions,
          extra: value,
        },
        { requiredKeys: ["type"] },
      ),
    )
    // Through JSON, as frames arrive.
    .map((f) => JSON.parse(JSON.stringify(f)) as Record<string, unknown>);

  it("accepts a frame only as the schema does, and returns what the schema returns", () => {
    let fast = 0;
    fc.assert(
      fc.property(frame, (raw) => {
        const copy = structuredClone(raw);
        const got = validateClientFrame(raw);
        const schema = clientFrameSchema.safeParse(copy);
        expect(got.ok).toBe(schema.success);
        if (got.ok && schema.success) {
          expect(got.frame).toEqual(schema.data);
          if (got.frame === raw) fast++;
        }
      }),
      { numRuns: 5_000 },
    );
    // The hand check did take frames (a test that never reaches it proves nothing).
    expect(fast).toBeGreaterThan(100);
  });
});

import { createRequire } from "node:module";
import type { Writable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { textFrame } from "./ws-frame.js";

// ws exports its parser, but @types/ws does not declare it.
const { Receiver } = createRequire(import.meta.url)("ws") as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => Writable;
};

/** What ws's own parser (the one every Node client using ws runs) reads from `bytes`. */
function parse(bytes: Buffer): string[] {
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  const messages: string[] = [];
  receiver.on("message", (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString("utf8"));
  });
  receiver.on("error", (error: Error) => {
    throw error;
  });
  receiver.write(bytes);
  return messages;
}

describe("textFrame", () => {
  it("frames texts at every length-encoding boundary, multi-byte characters included", () => {
    for (const bytes of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      for (const unit of ["x", "é", "😀"]) {
        const text = unit.repeat(Math.floor(bytes / Buffer.byteLength(unit)));
        expect(parse(textFrame(text))).toEqual([text]);
      }
    }
  });

  it("frames any text so ws's parser reads it back unchanged, frame after frame", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 300 })), (texts) => {
        expect(parse(Buffer.concat(texts.map(textFrame)))).toEqual(texts);
      }),
    );
  });
});

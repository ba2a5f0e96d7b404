/**
 * docs/troubleshooting.md answers every code a user can meet: each wire error code and close
 * code of protocol/codes.ts, each client error code and each HTTP refusal code has a row.
 */
import { readFileSync } from "node:fs";
import { ClientErrorCode } from "@pubsubbud/client";
import { CloseCode, ErrorCode } from "@pubsubbud/protocol";
import { HttpCode } from "@pubsubbud/relay-core";
import { expect, it } from "vitest";

const page = readFileSync(new URL("../../docs/troubleshooting.md", import.meta.url), "utf8");
/** The first cell of every table row: `| `bad_frame` | …` → "`bad_frame`", "4000", "400, 404". */
const rows = page
  .split("\n")
  .filter((line) => line.startsWith("| ") && !line.startsWith("|---"))
  .flatMap((line) =>
    line
      .split("|")
      .slice(1, 3)
      .map((cell) => cell.trim()),
  );

const hasRow = (code: string | number) =>
  rows.some((cell) => cell === `\`${code}\`` || cell.split(/,\s*/).includes(String(code)));

it("has a row for every error, close, client and HTTP code", () => {
  const codes = [
    ...Object.values(ErrorCode),
    ...Object.values(CloseCode),
    ...Object.values(ClientErrorCode),
    ...Object.values(HttpCode),
  ];
  expect(codes.length).toBeGreaterThan(40);
  expect(codes.filter((code) => !hasRow(code))).toEqual([]);
});

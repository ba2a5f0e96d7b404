/**
 * The code in README.md and docs/*.md is code users paste: every ts/js block is type-checked by
 * tsc under strict settings against the workspace packages (their built types, as a user gets
 * them), and a block followed by a ```` ```text output ```` fence is run against an in-process
 * relay and must print exactly that output.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startRelay } from "@pubsubbud/relay-node";
import { transform } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import {
  blockFileName,
  CHECKED_LANGS,
  type CodeBlock,
  excerptOf,
  extractBlocks,
  markdownFiles,
  missingFromSource,
  skipReason,
} from "./blocks.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const blocks = markdownFiles(ROOT).flatMap((file) => extractBlocks(ROOT, file));
const code = blocks.filter((block) => CHECKED_LANGS.has(block.lang));
const skipped = code.filter((block) => skipReason(block) !== undefined);
const excerpts = code.filter((block) => excerptOf(block) !== undefined);
const checked = code.filter((block) => !skipped.includes(block) && !excerpts.includes(block));

/** Every intentional fragment, by file and reason: a new skip is a visible change here. */
const SKIPPED: readonly string[] = [
  "docs/migrate-partykit.md: PartyKit's API, for comparison (partykit is not installed here)",
  "docs/migrate-partykit.md: partysocket's API, for comparison (partysocket is not installed here)",
  "docs/migrate-partykit.md: PartyKit's API, for comparison (partykit is not installed here)",
  "docs/migrate-pusher-ably.md: Pusher's API, for comparison (pusher-js is not installed here)",
  "docs/migrate-pusher-ably.md: Ably's API, for comparison (ably is not installed here)",
  "docs/migrate-pusher-ably.md: Pusher's server API, for comparison (pusher is not installed here)",
];

/** The blocks whose next fence is their expected output. */
const runnable = checked.flatMap((block) => {
  const next = blocks[blocks.indexOf(block) + 1];
  const isOutput = next?.file === block.file && next.lang === "text" && next.meta === "output";
  return isOutput ? [{ block, output: next.code }] : [];
});

// Under node_modules so the blocks resolve `@pubsubbud/*`, `ws` and `zod` as an app does.
const cache = join(ROOT, "node_modules", ".cache");
mkdirSync(cache, { recursive: true });
const project = mkdtempSync(join(cache, "docs-blocks-"));
afterAll(() => rmSync(project, { recursive: true, force: true }));

const where = (block: CodeBlock, line = 0) => `${block.file}:${block.line + 1 + line}`;

describe("code blocks in README.md and docs/*.md", () => {
  it("name their language on every fence", () => {
    const untagged = blocks.filter((block) => block.lang === "").map((block) => where(block, -1));
    expect(untagged).toEqual([]);
  });

  it("skip type-checking only for the listed fragments", () => {
    const reasons = skipped.map((block) => `${block.file}: ${skipReason(block)}`);
    expect(reasons).toEqual(SKIPPED);
  });

  it("that are excerpts match the tested file they quote, line for line", () => {
    expect(excerpts.length).toBeGreaterThan(0);
    for (const block of excerpts) {
      const source = readFileSync(join(ROOT, excerptOf(block) ?? ""), "utf8");
      expect({ at: where(block, -1), missing: missingFromSource(block, source) }).toEqual({
        at: where(block, -1),
        missing: [],
      });
    }
  });

  it("type-check under tsc --strict, with Node's ESM resolution of the workspace packages", async () => {
    expect(checked.length).toBeGreaterThanOrEqual(20);
    // A block for a Worker (it imports relay-worker) sees the Workers runtime types, no Node.
    const forWorker = (block: CodeBlock) => block.code.includes("@pubsubbud/relay-worker");
    const node = await typeCheck(
      "node",
      checked.filter((block) => !forWorker(block)),
      {
        lib: ["ES2022", "DOM", "DOM.Iterable", "ESNext.Disposable"],
        types: ["node"],
      },
    );
    const worker = await typeCheck("worker", checked.filter(forWorker), {
      lib: ["ES2022", "ESNext.Disposable"],
      types: ["@cloudflare/workers-types"],
    });
    expect([...node, ...worker]).toEqual([]);
  }, 120_000);

  it("include runnable examples", () => {
    expect(runnable.map(({ block }) => block.file)).toContain("README.md");
  });

  for (const { block, output } of runnable) {
    it(`${where(block, -1)} prints what the docs say, against an in-process relay`, async () => {
      await using relay = await startRelay({ port: 0, host: "127.0.0.1" });
      const { code: js } = await transform(block.code, { loader: "ts", format: "esm" });
      const file = join(project, blockFileName(block, ".mjs"));
      writeFileSync(
        file,
        js
          .replaceAll("ws://127.0.0.1:8080", relay.wsUrl)
          .replaceAll("http://127.0.0.1:8080", relay.url),
      );
      // Blocks written for browsers and Node 22+ use the global WebSocket, behind a flag on Node 20.
      const flags =
        Number(process.versions.node.split(".")[0]) < 22 ? ["--experimental-websocket"] : [];
      const { stdout } = await run(process.execPath, [...flags, file], {
        cwd: project,
        timeout: 20_000,
      });
      expect(stdout).toBe(output);
    }, 30_000);
  }
});

/** Runs tsc on the blocks in a project of their own; returns its diagnostics, at markdown lines. */
async function typeCheck(
  name: string,
  blocks: readonly CodeBlock[],
  environment: { lib: string[]; types: string[] },
): Promise<string[]> {
  if (blocks.length === 0) return [];
  const dir = join(project, name);
  mkdirSync(dir, { recursive: true });
  const byName = new Map(blocks.map((block) => [blockFileName(block, ".mts"), block]));
  for (const [file, block] of byName) writeFileSync(join(dir, file), `${block.code}export {};\n`);
  const compilerOptions = {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    ...environment,
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    noEmit: true,
  };
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions, files: [...byName.keys()] }),
  );
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const output = await run(process.execPath, [tsc, "-p", dir], { cwd: dir }).then(
    () => "",
    (error: { stdout: string }) => error.stdout,
  );
  // tsc names the block's file and line: point at the markdown instead.
  return output
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const at = /^(\S+?)\((\d+),\d+\): (.*)$/.exec(line);
      const block = at && byName.get(at[1] ?? "");
      return block && at ? `${where(block, Number(at[2]) - 1)}: ${at[3]}` : line;
    });
}

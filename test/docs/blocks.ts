/**
 * Reads the fenced code blocks of README.md and docs/*.md, so the docs suite can type-check and
 * run them. The conventions a block may use (the only ones; keep skips rare):
 * - first line `// @check-skip: <reason>`: an intentional fragment, not type-checked (the suite
 *   lists every skip, so a new one is a visible change);
 * - first line `// @check-excerpt: <path>`: the block is an excerpt of a file that `npm test`
 *   type-checks and runs; every line of the block must appear in that file, in order;
 * - a fence ```` ```text output ```` right after a ts/js block: the block is run against an
 *   in-process relay and must print exactly that text.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface CodeBlock {
  /** Path relative to the repository, e.g. `docs/operations.md`. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The info string's first word (`ts`, `sh`, …); empty for an untagged fence. */
  readonly lang: string;
  /** The rest of the info string (`output` in ```` ```text output ````). */
  readonly meta: string;
  readonly code: string;
}

/** Languages the suite type-checks with tsc. */
export const CHECKED_LANGS = new Set(["ts", "typescript", "js", "javascript", "mjs"]);

const FENCE = /^(\s*)```(.*)$/;

/** Every fenced block of one markdown file, in order. */
export function extractBlocks(root: string, file: string): CodeBlock[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  let open: { line: number; indent: string; info: string; body: string[] } | undefined;
  lines.forEach((text, index) => {
    const fence = FENCE.exec(text);
    if (!open) {
      if (fence) open = { line: index + 1, indent: fence[1] ?? "", info: fence[2] ?? "", body: [] };
      return;
    }
    if (fence && (fence[2] ?? "").trim() === "") {
      const [lang = "", ...meta] = open.info.trim().split(/\s+/);
      const code = open.body.map((l) =>
        l.startsWith(open?.indent ?? "") ? l.slice(open?.indent.length) : l,
      );
      blocks.push({
        file,
        line: open.line,
        lang,
        meta: meta.join(" "),
        code: `${code.join("\n")}\n`,
      });
      open = undefined;
      return;
    }
    open.body.push(text);
  });
  if (open) throw new Error(`${file}:${open.line}: a code fence is never closed`);
  return blocks;
}

/** README.md and every docs/*.md, relative to `root`. */
export function markdownFiles(root: string): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

/** The reason a block gives for not being checked, or undefined. */
export function skipReason(block: CodeBlock): string | undefined {
  const first = block.code.split("\n", 1)[0] ?? "";
  return /^\s*\/\/ @check-skip:\s*(.+)$/.exec(first)?.[1];
}

/** The repository file a block says it is an excerpt of, or undefined. */
export function excerptOf(block: CodeBlock): string | undefined {
  const first = block.code.split("\n", 1)[0] ?? "";
  return /^\s*\/\/ @check-excerpt:\s*(\S+)\s*$/.exec(first)?.[1];
}

/** The lines of an excerpt (blank ones and its marker aside) that `source` lacks, in order. */
export function missingFromSource(block: CodeBlock, source: string): string[] {
  const have = source.split("\n").map((line) => line.trimEnd());
  const missing: string[] = [];
  let at = 0;
  for (const line of block.code.split("\n").slice(1)) {
    if (line.trim() === "") continue;
    const found = have.indexOf(line.trimEnd(), at);
    if (found === -1) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

/** A file name for the block in the temporary project: `README.md-L97` + the extension. */
export function blockFileName(block: CodeBlock, extension: ".mts" | ".mjs"): string {
  return `${block.file.replaceAll("/", "__")}-L${block.line}${extension}`;
}

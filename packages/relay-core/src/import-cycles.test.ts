/**
 * relay-core has no import circle: every module (type-only imports included) sits below the
 * ones that use it, so each concept can be read and tested without the engine behind it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dir = fileURLToPath(new URL(".", import.meta.url));

/** The relative modules a source imports or re-exports, `import type` and `import("…")` included. */
function localImports(source: string): string[] {
  const found = new Set<string>();
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of source.matchAll(pattern)) {
    const path = (match[1] as string).replace(/^\.\//, "").replace(/\.js$/, ".ts");
    found.add(path);
  }
  return [...found];
}

/** The first import circle in a module graph, as the path that closes it, or undefined. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const open = path.indexOf(node);
    if (open >= 0) return [...path.slice(open), node];
    if (done.has(node)) return undefined;
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(node);
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("relay-core's module graph", () => {
  it("finds a circle made only of type imports", () => {
    const graph = new Map([
      ["a.ts", localImports('import type { B } from "./b.js";')],
      ["b.ts", localImports('import { type C } from "./c.js";')],
      ["c.ts", localImports('export type { A } from "./a.js";')],
    ]);
    expect(findCycle(graph)).toEqual(["a.ts", "b.ts", "c.ts", "a.ts"]);
  });

  it("has no import circle among its source files", () => {
    const files = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
    const graph = new Map(
      files.map((file) => [file, localImports(readFileSync(`${dir}/${file}`, "utf8"))] as const),
    );
    expect(graph.get("relay.ts")).toContain("session.ts");
    expect(findCycle(graph)).toBeUndefined();
  });
});

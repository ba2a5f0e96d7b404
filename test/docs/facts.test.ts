/**
 * The numbers and names the docs state are the ones the code uses: limit and retention defaults,
 * metric names, error, close and HTTP codes. A default changed in code without the docs (or the
 * reverse) fails here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { CloseCode, ErrorCode } from "@pubsubbud/protocol";
import { DEFAULT_RELAY_LIMITS, DEFAULT_RETENTION, HttpCode } from "@pubsubbud/relay-core";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const protocol = read("docs/protocol.md");
const operations = read("docs/operations.md");

/** The table rows of one `## ` section of a markdown page, as cells. */
function tableRows(page: string, heading: string): string[][] {
  const start = page.indexOf(`\n${heading}\n`);
  expect(start, `a section ${heading}`).toBeGreaterThan(-1);
  const end = page.indexOf("\n## ", start + 1);
  return page
    .slice(start, end === -1 ? undefined : end)
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("|---"))
    .map((line) =>
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

/** "65,536" → 65536, "4 MiB" → 4194304. */
function amount(text: string): number {
  const match = /^([\d,]+)\s*(KiB|MiB)?$/.exec(text.trim());
  if (!match) return Number.NaN;
  const scale = match[2] === "MiB" ? 1024 * 1024 : match[2] === "KiB" ? 1024 : 1;
  return Number((match[1] ?? "").replaceAll(",", "")) * scale;
}

describe("docs against the code", () => {
  it("protocol.md §10 gives each listed limit its default from DEFAULT_RELAY_LIMITS", () => {
    const limits: Record<string, number> = { ...DEFAULT_RELAY_LIMITS };
    const stated: [string, number][] = [];
    for (const [name = "", value = ""] of tableRows(protocol, "## 10. Limits (relay defaults)")) {
      const names = [...name.matchAll(/`(\w+)`/g)].map((m) => m[1] ?? "");
      const values = value.split("/").map(amount);
      names.forEach((limit, i) => {
        if (limit in limits) stated.push([limit, values[i] ?? Number.NaN]);
      });
    }
    expect(stated.length).toBeGreaterThan(15);
    expect(stated.filter(([limit, value]) => limits[limit] !== value)).toEqual([]);
  });

  it("names every relay limit in protocol.md or operations.md", () => {
    const unnamed = Object.keys(DEFAULT_RELAY_LIMITS).filter(
      (limit) => !protocol.includes(limit) && !operations.includes(limit),
    );
    expect(unnamed).toEqual([]);
  });

  it("operations.md gives each retention setting its default from DEFAULT_RETENTION", () => {
    const rows = tableRows(operations, "## Configuration");
    const retention: Record<string, number> = { ...DEFAULT_RETENTION };
    const wrong = Object.keys(retention).filter((key) => {
      const row = rows.find((cells) => cells[0] === `\`retention.${key}\``);
      return !row || Number(/`(\d+)`/.exec(row[3] ?? "")?.[1]) !== retention[key];
    });
    expect(wrong).toEqual([]);
  });

  it("operations.md lists exactly the metrics relay-node renders", () => {
    const source = read("packages/relay-node/src/metrics.ts");
    const rendered = new Set(source.match(/pubsubbud_[a-z_]+[a-z]/g));
    // "`pubsubbud_frames_received_total` / `_sent_total`" names two metrics.
    const table = tableRows(operations, "## Metrics")
      .map((cells) => cells[0] ?? "")
      .join("\n")
      .replace(/`(pubsubbud_\w+?_)received_total` \/ `_(\w+)`/g, "`$1received_total` `$1$2`");
    const documented = new Set([...table.matchAll(/`(pubsubbud_\w+)/g)].map((m) => m[1] ?? ""));
    expect([...documented].sort()).toEqual([...rendered].sort());
  });

  it("protocol.md has a row for every error code and close code", () => {
    const errorRows = tableRows(protocol, "## 5. Error codes").map((cells) => cells[0]);
    expect(Object.values(ErrorCode).filter((code) => !errorRows.includes(`\`${code}\``))).toEqual(
      [],
    );
    const closeRows = tableRows(protocol, "## 6. Close codes").map((cells) => cells[0]);
    expect(Object.values(CloseCode).filter((code) => !closeRows.includes(String(code)))).toEqual(
      [],
    );
  });

  it("operations.md has a row for every HTTP refusal code", () => {
    const rows = tableRows(operations, "## HTTP endpoints").map((cells) => cells[1] ?? "");
    expect(
      Object.values(HttpCode).filter((code) => !rows.some((cell) => cell.includes(`\`${code}\``))),
    ).toEqual([]);
  });

  it("deploy-cloudflare.md has a row for every var of relay-worker's Env", () => {
    const source = read("packages/relay-worker/src/config.ts");
    const env = /export interface Env \{([^}]*)\}/.exec(source)?.[1] ?? "";
    const vars = [...env.matchAll(/^\s+([A-Z_]+)\??:/gm)].map((m) => m[1] ?? "");
    expect(vars.length).toBeGreaterThan(10);
    const table = read("docs/deploy-cloudflare.md");
    const missing = vars.filter((name) => name !== "NAMESPACES" && !table.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it("names only environment variables that the code reads", () => {
    const docs = [
      "README.md",
      ...readdirSync(new URL("../../docs", import.meta.url)).map((f) => `docs/${f}`),
    ]
      .filter((path) => path.endsWith(".md"))
      .map(read)
      .join("\n");
    const named = new Set(docs.match(/PUBSUBBUD_[A-Z_]*[A-Z]/g));
    const code = ["packages", "test", "scripts", ".ci"]
      .flatMap((dir) =>
        readdirSync(new URL(`../../${dir}`, import.meta.url), {
          recursive: true,
          withFileTypes: true,
        })
          .filter((entry) => entry.isFile() && !entry.parentPath.includes("node_modules"))
          .filter((entry) => !entry.parentPath.includes("/dist") && !entry.name.endsWith(".md"))
          .map((entry) => readFileSync(`${entry.parentPath}/${entry.name}`, "utf8")),
      )
      .join("\n");
    expect([...named].filter((name) => !code.includes(name))).toEqual([]);
  });
});

/**
 * `npm run docs:api` builds the API reference from the TSDoc of every package with TypeDoc
 * (typedoc.json, one per package beside it). A warning fails the build: a public type that
 * names something not exported, or a link to something left out of the reference. Each subpath
 * a package exports gets its page.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGES = ["protocol", "relay-core", "client", "relay-node", "relay-worker"];
const out = mkdtempSync(join(tmpdir(), "pubsubbud-api-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** TypeDoc's page for a package entry: `_pubsubbud_client.testing.html`. */
function modulePage(name: string, subpaths: string[]): string[] {
  const base = `_pubsubbud_${name}`;
  if (subpaths.length === 1) return [`${base}.html`];
  return subpaths.map((subpath) => {
    const entry = subpath === "." ? "index" : subpath.slice(2).replaceAll("/", "_");
    return `${base}.${entry}.html`;
  });
}

it("builds the API reference of every package without a warning, a page per exported subpath", async () => {
  const typedoc = join(ROOT, "node_modules", "typedoc", "bin", "typedoc");
  const run = await promisify(execFile)(process.execPath, [typedoc, "--out", out], {
    cwd: ROOT,
  }).then(
    ({ stdout }) => ({ failed: false, stdout }),
    (error: { stdout: string; stderr: string }) => ({
      failed: true,
      stdout: error.stdout + error.stderr,
    }),
  );
  expect(run.stdout).not.toMatch(/\[warning\]|\[error\]/);
  expect(run.failed).toBe(false);
  const expected = PACKAGES.flatMap((name) => {
    const { exports } = JSON.parse(
      readFileSync(join(ROOT, "packages", name, "package.json"), "utf8"),
    );
    return modulePage(
      name,
      Object.keys(exports).filter((subpath) => subpath !== "./package.json"),
    );
  });
  expect(expected.filter((page) => !existsSync(join(out, "modules", page)))).toEqual([]);
  expect(existsSync(join(out, "functions", "_pubsubbud_client.index.createClient.html"))).toBe(
    true,
  );
}, 300_000);

/**
 * The client as a package: the minimal usage (connect, subscribe, publish) bundled for the
 * browser with every dependency, minified and gzipped, stays within 5,000 bytes, with no Node built-in
 * and no zod (docs/performance.md records the figure); publint and Are the Types Wrong find
 * nothing in the packed package.
 */
import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const CLIENT_BUDGET_BYTES = 5_000;
const MINIMAL_USAGE = `import { createClient } from "@pubsubbud/client";
const client = createClient({ url: "wss://relay.example.com" });
client.subscribe("chat.*", (msg) => console.log(msg.data));
client.publish("chat.lobby", { text: "hi" });`;

const client = fileURLToPath(new URL("../../packages/client", import.meta.url));
const bin = (name: string) =>
  fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

describe("client package", () => {
  it("keeps the minimal usage within 5,000 bytes minified and gzipped, dependencies included", async () => {
    const result = await build({
      stdin: {
        contents: MINIMAL_USAGE,
        resolveDir: client,
        loader: "js",
      },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const code = (result.outputFiles[0] as { contents: Uint8Array }).contents;
    const gzipped = gzipSync(code, { level: 9 }).length;
    process.stderr.write(`client bundle: ${code.length} B minified, ${gzipped} B gzipped\n`);
    // What reached the output: files esbuild read and then shook out entirely do not count.
    const output = Object.values(result.metafile.outputs)[0]?.inputs ?? {};
    const inputs = Object.keys(output).filter((path) => (output[path]?.bytesInOutput ?? 0) > 0);
    expect(inputs.filter((path) => path.startsWith("packages/client/dist/"))).not.toEqual([]);
    // The test kit (relay-core, its broker) stays out of an app's bundle.
    expect(inputs.filter((path) => /relay-core|testing/.test(path))).toEqual([]);
    expect(inputs.filter((path) => /node_modules\/(zod|ws)\//.test(path))).toEqual([]);
    expect(inputs.filter((path) => path.startsWith("node:"))).toEqual([]);
    expect(gzipped).toBeLessThanOrEqual(CLIENT_BUDGET_BYTES);
  });

  it("passes publint and Are the Types Wrong (ESM, CJS, node10, node16, bundler)", () => {
    // Both exit non-zero on a problem; the output says which.
    expect(execFileSync(bin("publint"), ["--strict", client], { encoding: "utf8" })).toMatch(
      /Lint|No problems/,
    );
    expect(
      execFileSync(bin("attw"), ["--pack", client, "--format", "ascii"], { encoding: "utf8" }),
    ).toMatch(/No problems found/);
  }, 60_000);
});

// Bundles an example's page script (the real client, as a user's app would) into
// app.generated.js beside it: node ../shared/bundle-page.mjs [page.ts]
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** Bundles `entry` for the browser into `app.generated.js` in the same folder. */
export async function bundlePage(entry) {
  const page = await build({
    entryPoints: [entry],
    bundle: true,
    format: "iife",
    platform: "browser",
    minify: true,
    write: false,
  });
  writeFileSync(
    resolve(entry, "../app.generated.js"),
    `export default ${JSON.stringify(page.outputFiles[0].text)};\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  await bundlePage(resolve(process.argv[2] ?? "page.ts"));

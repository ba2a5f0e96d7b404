// Bundles the page script into src/app.generated.js (served by the Worker at /app.js), then the
// Worker itself into dist/worker.js for tests; `wrangler dev` bundles src/index.ts on its own.
import { writeFileSync } from "node:fs";
import { build } from "esbuild";

const page = await build({
  entryPoints: ["src/page.ts"],
  bundle: true,
  format: "iife",
  platform: "browser",
  minify: true,
  write: false,
});
writeFileSync(
  "src/app.generated.js",
  `export default ${JSON.stringify(page.outputFiles[0].text)};\n`,
);
await build({
  entryPoints: ["src/index.ts"],
  bundle: true,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  external: ["cloudflare:workers"],
  minify: true,
  outfile: "dist/worker.js",
  logLevel: "warning",
});

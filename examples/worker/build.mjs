// Bundles the page script into src/app.generated.js (served by the Worker at /app.js), then the
// Worker itself into dist/worker.js for tests; `wrangler dev` bundles src/index.ts on its own.
import { resolve } from "node:path";
import { build } from "esbuild";
import { bundlePage } from "../shared/bundle-page.mjs";

await bundlePage(resolve("src/page.ts"));
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

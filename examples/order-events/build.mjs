// Bundles the page script (the real client, as a user's app would) into app.generated.js.
import { writeFileSync } from "node:fs";
import { build } from "esbuild";

const page = await build({
  entryPoints: [new URL("./page.ts", import.meta.url).pathname],
  bundle: true,
  format: "iife",
  platform: "browser",
  minify: true,
  write: false,
});
writeFileSync(
  new URL("./app.generated.js", import.meta.url),
  `export default ${JSON.stringify(page.outputFiles[0].text)};\n`,
);

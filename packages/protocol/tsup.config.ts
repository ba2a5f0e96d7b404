import { defineConfig } from "tsup";

export default defineConfig([
  {
    // ESM: one output module per source file, so bundlers can drop the zod schemas (frames.ts,
    // codec.ts, http.ts) from clients that only need the matcher, codes and relay-frame decoding.
    entry: ["src/*.ts", "!src/*.test.ts", "!src/*.d.ts"],
    bundle: false,
    format: ["esm"],
    dts: { entry: "src/index.ts" },
    sourcemap: true,
    target: "es2022",
    silent: true,
  },
  {
    // CJS: one bundle (CommonJS consumers are servers, where size does not matter).
    entry: { index: "src/index.ts" },
    format: ["cjs"],
    dts: { entry: { index: "src/index.ts" } },
    sourcemap: true,
    target: "es2022",
    silent: true,
  },
]);

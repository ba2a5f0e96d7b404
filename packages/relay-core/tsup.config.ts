import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    internal: "src/internal.ts",
    testing: "src/testing/index.ts",
  },
  external: ["vitest"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
  silent: true,
});

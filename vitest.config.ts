import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts", "examples/**/*.test.ts"],
          exclude: ["packages/relay-worker/**", "**/node_modules/**"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      "packages/relay-worker/vitest.config.ts",
    ],
  },
});

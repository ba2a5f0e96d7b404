import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          setupFiles: ["test/helpers/fast-check-seed.ts"],
          include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts", "examples/**/*.test.ts"],
          exclude: ["packages/relay-worker/**", "**/node_modules/**"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // The client suite again in happy-dom's page: its window, document, EventTarget and
        // WebSocket, as a browser-like test environment of a user's app would give it.
        test: {
          name: "happy-dom",
          environment: "happy-dom",
          include: [
            "test/client/client.test.ts",
            "test/client/ergonomics.test.ts",
            "test/client/channel.test.ts",
            "test/client/testing.test.ts",
          ],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      "packages/relay-worker/vitest.config.ts",
    ],
  },
});

import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Tests that run inside workerd, against the real Durable Object runtime (storage, hibernation
// API, attachments), with the Worker of wrangler.jsonc as `SELF`.
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.jsonc" },
      // A 1 s handshake timeout, so the test of the 4003 close waits 1 s, not 10.
      miniflare: {
        bindings: { RETENTION_MAX_MESSAGES: "50", ANONYMOUS: "all", HANDSHAKE_TIMEOUT_MS: "1000" },
      },
    }),
  ],
  test: {
    name: "workerd",
    include: ["src/**/*.test.ts"],
    globalSetup: ["./test-setup/relay.ts"],
    testTimeout: 30_000,
  },
});

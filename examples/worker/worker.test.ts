import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../../test/helpers/chromium.js";

describe.skipIf(chromiumMissing())("examples/worker", () => {
  let worker: Miniflare;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    // dist/worker.js is built by `npm run build` (build.mjs), as `npm test` does first.
    worker = new Miniflare({
      modules: true,
      scriptPath: fileURLToPath(new URL("./dist/worker.js", import.meta.url)),
      compatibilityDate: "2026-04-01",
      durableObjects: { NAMESPACES: { className: "NamespaceObject", useSQLite: true } },
      bindings: { ANONYMOUS: "all" },
      cf: false,
      host: "127.0.0.1",
      port: 0,
    });
    origin = (await worker.ready).origin;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.dispose();
  });

  it("serves a chat page whose two visitors see each other's messages through the Durable Object", async () => {
    const [alice, bob] = await Promise.all([browser.newPage(), browser.newPage()]);
    for (const page of [alice, bob]) {
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => document.getElementById("state")?.textContent === "open");
    }
    await alice.fill("#name", "alice");
    await alice.fill("#text", "hello from alice");
    await alice.click("button");
    await bob.waitForFunction(() =>
      document.getElementById("log")?.textContent?.includes("alice: hello from alice"),
    );
    await bob.fill("#name", "bob");
    await bob.fill("#text", "hi alice");
    await bob.press("#text", "Enter");
    await alice.waitForFunction(() =>
      document.getElementById("log")?.textContent?.includes("bob: hi alice"),
    );
    expect(await alice.locator("#log li").allTextContents()).toEqual([
      "alice: hello from alice",
      "bob: hi alice",
    ]);
  });
});

import { createClient, type PubsubBudClient, request } from "@pubsubbud/client";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../../test/helpers/chromium.js";
// @ts-expect-error: a plain .mjs example without type declarations
import { startRpc } from "./server.mjs";

describe("examples/rpc", () => {
  let rpc: { url: string; socketUrl: string; service: PubsubBudClient; close(): Promise<void> };
  let caller: PubsubBudClient;
  beforeAll(async () => {
    rpc = await startRpc({ port: 0 });
    caller = createClient({ url: rpc.socketUrl, WebSocket });
  });
  afterAll(async () => {
    caller?.close();
    await rpc?.close();
  });

  it("answers a Node client and reports the service's failure", async () => {
    expect((await request(caller, "math.add", { a: 1, b: 2 })).data).toBe(3);
    await expect(request(caller, "math.divide", { a: 1, b: 0 })).rejects.toMatchObject({
      code: "remote_error",
      message: expect.stringContaining("division by zero"),
    });
    const controller = new AbortController();
    const aborted = request(caller, "math.nothing", null, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: "aborted" });
  });

  it.skipIf(chromiumMissing())("answers the browser page", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${rpc.url}/`);
      await page.waitForFunction(() => document.getElementById("state")?.textContent === "open");
      await page.click("#divide");
      await page.waitForFunction(() => document.getElementById("answer")?.textContent === "= 2");
      await page.fill("#b", "0");
      await page.click("#divide");
      await page.waitForFunction(() =>
        document.getElementById("answer")?.textContent?.startsWith("remote_error"),
      );
      // An empty field is refused on the page (it would otherwise be sent as 0).
      await page.fill("#a", "");
      await page.click("#add");
      await page.waitForFunction(
        () => document.getElementById("answer")?.textContent === "enter a number in both fields",
      );
    } finally {
      await browser.close();
    }
  });

  it("times out once the service is gone", async () => {
    rpc.service.close();
    await expect(
      request(caller, "math.add", { a: 1, b: 2 }, { timeout: 300 }),
    ).rejects.toMatchObject({ code: "request_timeout" });
  });
});

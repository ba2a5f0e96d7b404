import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../../test/helpers/chromium.js";
import { horizontalOverflow } from "../../test/helpers/layout.js";
import { missing } from "../../test/helpers/requirements.js";
import { reachable, services } from "../../test/helpers/services.js";
// @ts-expect-error: a plain .mjs example without type declarations
import { startShop } from "./server.mjs";

const rabbit = await reachable(services.amqp.port);

describe.skipIf(
  chromiumMissing() || missing("RabbitMQ on 127.0.0.1:5672", rabbit, services.amqp.fix),
)("examples/order-events", () => {
  let shop: { url: string; close(): Promise<void> };
  let browser: Browser;
  beforeAll(async () => {
    shop = await startShop({ port: 0, stock: 5 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await shop?.close();
  });

  it("shows an order's mail, stock and audit events live, and a failing order's dead letter", async () => {
    const page = await browser.newPage();
    await page.goto(`${shop.url}/`);
    await page.waitForFunction(() => document.getElementById("state")?.textContent === "open");
    const events = () =>
      page
        .locator("#events li")
        .evaluateAll((items) =>
          items.map((li) => ({ channel: li.getAttribute("data-channel"), text: li.textContent })),
        );
    const until = (text: string) =>
      page.waitForFunction(
        (t) => document.getElementById("events")?.textContent?.includes(t),
        text,
      );
    expect(await page.isVisible("#empty")).toBe(true);

    await page.fill("#qty", "2");
    await page.click("button");
    await until("order #1: 2 × teapot");
    await until("teapot: 3 left");
    await until("order #1 logged");
    await until("mail for order #1");
    expect(await page.isHidden("#empty")).toBe(true);

    // More than is left: the stock handler fails three times, its message is dead-lettered,
    // and the mailer and the audit log are not held up by it.
    await page.fill("#qty", "9");
    await page.click("button");
    await until("order #2 (9 × teapot) failed in handler stock: only 3 teapots left");
    await until("mail for order #2");
    await until("order #2 logged");
    const dead = await page.getAttribute(
      '#events li[data-channel="dead-letter.order.created"]',
      "data-json",
    );
    expect(JSON.parse(dead ?? "null")).toMatchObject({
      handler: "stock",
      error: "Error: only 3 teapots left",
      message: { channel: "order.created", data: { id: 2, item: "teapot", qty: 9 } },
    });
    const all = await events();
    expect(all.filter((event) => event.channel === "stock.updated")).toHaveLength(1);
    // The page fits a phone: the long dead-letter row wraps instead of scrolling sideways.
    expect(await horizontalOverflow(page, 420)).toBe(0);
  });
});

import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../../test/helpers/chromium.js";
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
    const events = () => page.locator("#events li").allTextContents();
    const until = (text: string) =>
      page.waitForFunction(
        (t) => document.getElementById("events")?.textContent?.includes(t),
        text,
      );

    await page.fill("#qty", "2");
    await page.click("button");
    await until('stock.updated {"item":"teapot","left":3}');
    await until('audit.logged {"order":1}');
    await until('mail.sent {"order":1');

    // More than is left: the stock handler fails three times, its message is dead-lettered,
    // and the mailer and the audit log are not held up by it.
    await page.fill("#qty", "9");
    await page.click("button");
    await until("dead-letter.order.created");
    await until('mail.sent {"order":2');
    await until('audit.logged {"order":2}');
    const all = await events();
    const dead = all.find((line) => line.startsWith("dead-letter.order.created")) ?? "";
    expect(JSON.parse(dead.slice(dead.indexOf(" ") + 1))).toMatchObject({
      handler: "stock",
      error: "Error: only 3 teapots left",
      message: { channel: "order.created", data: { id: 2, item: "teapot", qty: 9 } },
    });
    expect(all.filter((line) => line.startsWith("stock.updated"))).toHaveLength(1);
  });
});

import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../../test/helpers/chromium.js";
import { missing } from "../../test/helpers/requirements.js";
import { reachable, services } from "../../test/helpers/services.js";
// @ts-expect-error: a plain .mjs example without type declarations
import { startCounter } from "./server.mjs";

const redis = await reachable(services.redis.port);

describe.skipIf(chromiumMissing() || missing("Redis on 127.0.0.1:6379", redis, services.redis.fix))(
  "examples/counter",
  () => {
    let counter: { urls: string[]; count(): number; close(): Promise<void> };
    let browser: Browser;
    beforeAll(async () => {
      counter = await startCounter({ ports: [0, 0, 0] });
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await counter?.close();
    });

    const open = async (url: string): Promise<Page> => {
      const page = await browser.newPage();
      await page.goto(`${url}/`);
      await page.waitForFunction(() => document.getElementById("count")?.textContent === "0");
      return page;
    };
    const shows = (page: Page, count: number) =>
      page.waitForFunction(
        (n) => document.getElementById("count")?.textContent === String(n),
        count,
      );

    it("keeps two pages on different relay instances in sync as both click", async () => {
      expect(new Set(counter.urls).size).toBe(3);
      const [left, right] = [await open(counter.urls[1] ?? ""), await open(counter.urls[2] ?? "")];
      await left.click("#click");
      await left.click("#click");
      await right.click("#click");
      await shows(left, 3);
      await shows(right, 3);
      expect(counter.count()).toBe(3);
      // A page opened later, on the first instance, starts from the count, not from zero.
      const late = await browser.newPage();
      await late.goto(`${counter.urls[0]}/`);
      await shows(late, 3);
      await late.click("#click");
      await shows(left, 4);
      await shows(right, 4);
    });
  },
);

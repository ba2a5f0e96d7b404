// Retakes the README's screenshots: the counter example (two pages on different relay instances
// over Redis, after a few clicks) and the live page of the instance that serves the first page.
// Needs Redis on 127.0.0.1:6379 and Chromium:  npm run build && node scripts/screenshots.mjs
import { chromium } from "playwright-core";
import { startCounter } from "../examples/counter/server.mjs";

const images = new URL("../docs/images/", import.meta.url).pathname;
const counter = await startCounter({ ports: [0, 0, 0] });
const browser = await chromium.launch({
  executablePath: process.env.PUBSUBBUD_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const pages = [];
  for (const url of counter.urls.slice(0, 2)) {
    const page = await browser.newPage({ viewport: { width: 520, height: 420 } });
    await page.goto(`${url}/`);
    await page.waitForFunction(() => document.getElementById("state")?.textContent === "open");
    pages.push(page);
  }
  for (const page of [pages[0], pages[1], pages[0]]) await page.click("#click");
  for (const page of pages)
    await page.waitForFunction(() => document.getElementById("count")?.textContent === "3");
  await pages[1].screenshot({ path: `${images}counter.png` });
  const live = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await live.goto(`${counter.urls[0]}/live`);
  await live.waitForFunction(() => document.body.textContent?.includes("counter.value"));
  await live.screenshot({ path: `${images}live-page.png` });
  process.stdout.write(`wrote ${images}counter.png and ${images}live-page.png\n`);
} finally {
  await browser.close();
  await counter.close();
}

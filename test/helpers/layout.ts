/** Layout checks on a page in real Chromium. */
import type { Page } from "playwright-core";

/** How far the page is wider than its viewport (0 when it fits without horizontal scroll). */
export async function horizontalOverflow(page: Page, width: number): Promise<number> {
  await page.setViewportSize({ width, height: 800 });
  return page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
}

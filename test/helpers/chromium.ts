/** Debian's Chromium driven by playwright-core: where it is, whether it is there, how to start it. */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { missing } from "./requirements.js";

const CHROMIUM = process.env.PUBSUBBUD_CHROMIUM ?? "/usr/bin/chromium";

/** True when Chromium is missing (the suite is skipped, or fails in CI). */
export function chromiumMissing(): boolean {
  return missing(
    "Chromium",
    existsSync(CHROMIUM),
    "apt-get install -y chromium (or set PUBSUBBUD_CHROMIUM)",
  );
}

/** Headless, sandbox off (root), no background networking (the machine's network is closed). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

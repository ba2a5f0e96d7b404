import { execFileSync } from "node:child_process";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../../test/helpers/chromium.js";
import { horizontalOverflow } from "../../test/helpers/layout.js";
import { missing } from "../../test/helpers/requirements.js";
import { reachable, services } from "../../test/helpers/services.js";
// @ts-expect-error: a plain .mjs example without type declarations
import { startBridge } from "./server.mjs";

const mqtt = await reachable(services.mqtt.port);
const mosquittoPub = (() => {
  try {
    execFileSync("mosquitto_pub", ["--help"], { stdio: "ignore" });
    return true;
  } catch (error) {
    // It exits 1 after printing its help; only a missing binary throws ENOENT.
    return (error as { code?: string }).code !== "ENOENT";
  }
})();

describe.skipIf(
  chromiumMissing() ||
    missing("Mosquitto on 127.0.0.1:1883", mqtt, services.mqtt.fix) ||
    missing("mosquitto_pub", mosquittoPub, "apt-get install -y mosquitto-clients"),
)("examples/iot-bridge", () => {
  let bridge: { url: string; close(): Promise<void> };
  let browser: Browser;
  beforeAll(async () => {
    bridge = await startBridge({ port: 0 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
  });

  const publish = (topic: string, payload: string) =>
    execFileSync("mosquitto_pub", ["-h", "127.0.0.1", "-q", "1", "-t", topic, "-m", payload]);

  it("shows what mosquitto_pub sensors send on sensor.*, and nothing else", async () => {
    const page = await browser.newPage();
    await page.goto(`${bridge.url}/`);
    await page.waitForFunction(() => document.getElementById("state")?.textContent === "open");
    const cell = (sensor: string, text: string) =>
      page.waitForFunction(
        ([s, t]) =>
          document.querySelector(`tr[data-sensor="${s}"] td:nth-child(2)`)?.textContent === t,
        [sensor, text],
      );
    expect(await page.isVisible("#empty")).toBe(true);
    publish("pubsubbud/iot/other.noise", '{"db":90}');
    publish("pubsubbud/iot/sensor.temp", '{"c":21.5}');
    publish("pubsubbud/iot/sensor.door", '{"open":true}');
    await cell("sensor.temp", "c: 21.5");
    await cell("sensor.door", "open: true");
    expect(await page.isHidden("#empty")).toBe(true);
    publish("pubsubbud/iot/sensor.temp", '{"c":22}');
    await cell("sensor.temp", "c: 22");
    const json = await page.getAttribute(
      'tr[data-sensor="sensor.temp"] td:nth-child(2)',
      "data-json",
    );
    expect(JSON.parse(json ?? "null")).toEqual({ c: 22 });
    // Sent before the sensors, other.noise would have arrived first: its absence is final.
    const rows = await page
      .locator("#sensors tr")
      .evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.sensor));
    expect(rows).toEqual(["sensor.temp", "sensor.door"]);
    expect(await horizontalOverflow(page, 420)).toBe(0);
  });
});

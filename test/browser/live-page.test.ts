/**
 * The relay's live page in real Chromium: what a user sees and does there. The relay is real
 * (embedded broker), its traffic comes from real clients, and the page polls `/v1/stats` itself.
 */
import { createClient, type PubsubBudClient } from "@pubsubbud/client";
import { type RunningRelay, startRelay } from "@pubsubbud/relay-node";
import type { Browser, Page } from "playwright-core";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../helpers/chromium.js";
import { horizontalOverflow } from "../helpers/layout.js";

describe.skipIf(chromiumMissing())("the live page in real Chromium", () => {
  let relay: RunningRelay;
  let browser: Browser;
  let page: Page;
  const clients: PubsubBudClient[] = [];
  const connect = (namespace: string) => {
    const client = createClient({ url: `${relay.wsUrl}/ns/${namespace}`, WebSocket });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    // Samples every 100 ms, so the charts have points soon after traffic.
    relay = await startRelay({ port: 0, livePage: true, sweepIntervalMs: 100 });
    browser = await launchChromium();
  });

  afterEach(async () => {
    await page?.close();
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    await browser?.close();
    await relay?.close(1000);
  });

  const open = async (width: number, hash = "") => {
    page = await browser.newPage({ viewport: { width, height: 800 } });
    await page.goto(`${relay.url}/${hash}`);
    await page.waitForFunction(() => document.getElementById("connections")?.textContent !== "–");
    return page;
  };

  it("shows a refused publish with its status and code, and an accepted one with its offset", async () => {
    await open(1280);
    await page.fill("#channel", "no spaces allowed");
    await page.click("#publish button");
    await page.waitForFunction(() => document.getElementById("result")?.className === "refused");
    const refused = await page.textContent("#result");
    expect(refused).toContain("400");
    expect(refused).toContain("bad_channel");

    await page.fill("#channel", "chat.ok");
    await page.click("#publish button");
    await page.waitForFunction(() => document.getElementById("result")?.className === "ok");
    expect(await page.textContent("#result")).toMatch(/published to default at offset \S+/);
  });

  it("switches namespace with the picker and shows that namespace's messages only", async () => {
    const alpha = connect("alpha");
    const beta = connect("beta");
    await alpha.publish("room.a", { said: "from alpha" });
    await beta.publish("room.b", { said: "from beta" });
    await open(1280, "#ns=alpha");
    await page.waitForFunction(() =>
      document.getElementById("tail")?.textContent?.includes("from alpha"),
    );
    expect(await page.textContent("#tail")).not.toContain("from beta");

    await page.fill("#ns", "beta");
    await page.waitForFunction(() =>
      document.getElementById("tail")?.textContent?.includes("from beta"),
    );
    expect(await page.textContent("#tail")).not.toContain("from alpha");
    expect(await page.textContent("#tail-ns")).toBe("beta");

    // The form publishes to the picked namespace: a client there receives it.
    const received: unknown[] = [];
    await beta.subscribe("from.page", (message) => void received.push(message.data)).ready;
    await page.fill("#channel", "from.page");
    await page.fill("#data", '{"n":1}');
    await page.click("#publish button");
    await page.waitForFunction(() => document.getElementById("result")?.className === "ok");
    await expect.poll(() => received).toEqual([{ n: 1 }]);
  });

  it("shows an empty state that names the namespace's socket URL, and links namespaces with messages", async () => {
    await connect("gamma").publish("room.g", "hi");
    await open(1280, "#ns=quiet");
    await page.waitForSelector("#empty:not([hidden])");
    const empty = await page.textContent("#empty");
    expect(empty).toContain("No messages in quiet yet");
    expect(empty).toContain(`${relay.wsUrl}/ns/quiet`);
    await page.click('#empty [data-ns="gamma"]');
    await page.waitForFunction(() =>
      document.getElementById("tail")?.textContent?.includes("room.g"),
    );
    expect(await page.isHidden("#empty")).toBe(true);
  });

  it("fits a 420 px screen: no horizontal scroll, even with a long message", async () => {
    await connect("default").publish("a.very.long.channel.name.that.keeps.going.and.going", {
      text: "x".repeat(400),
    });
    await open(420);
    await page.waitForFunction(() =>
      document.getElementById("tail")?.textContent?.includes("keeps.going"),
    );
    expect(await horizontalOverflow(page, 420)).toBe(0);
  });

  it("charts connections and throughput after traffic", async () => {
    const client = connect("charts");
    for (let i = 0; i < 20; i++) await client.publish("tick", i);
    await open(1280, "#ns=charts");
    // A rate needs two samples around the traffic: wait until the chart holds a point above zero.
    await page.waitForFunction(() => {
      const points = document.querySelector("#chart-published polyline")?.getAttribute("points");
      return points?.split(" ").some((p) => Number(p.split(",")[1]) < 38);
    });
    const connections = await page.getAttribute("#chart-connections polyline", "points");
    expect(connections?.split(" ").length).toBeGreaterThan(1);
    expect(
      Number(await page.getAttribute("#chart-connections", "data-max")),
    ).toBeGreaterThanOrEqual(1);
  });

  it("asks for the admin token when the relay has auth, and shows the figures once it is given", async () => {
    const adminToken = "a".repeat(32);
    const guarded = await startRelay({
      port: 0,
      authenticate: () => ({}),
      livePage: { adminToken },
    });
    try {
      page = await browser.newPage({ viewport: { width: 420, height: 800 } });
      await page.goto(`${guarded.url}/`);
      await page.waitForSelector("#login:not([hidden])");
      expect(await page.textContent("#status")).toContain("admin token");
      expect(await page.textContent("#connections")).toBe("–");
      await page.fill("#token", adminToken);
      await page.click("#login button");
      await page.waitForSelector("#login", { state: "hidden" });
      await page.waitForFunction(() => document.getElementById("connections")?.textContent === "0");
    } finally {
      await guarded.close(1000);
    }
  });
});

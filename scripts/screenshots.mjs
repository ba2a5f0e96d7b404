// Retakes the README's screenshots, each at 1280 px and 420 px wide, into docs/images/:
// - the live page of the relay `npm start` runs (node packages/relay-node/dist/cli.js relay),
//   first empty, then with a little traffic from two clients;
// - the counter (Redis), orders (RabbitMQ), rpc and iot-bridge (Mosquitto) examples.
// Needs those services on 127.0.0.1 and Chromium:  npm run build && node scripts/screenshots.mjs
// Only the live page:                               node scripts/screenshots.mjs live
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createClient } from "@pubsubbud/client";
import { chromium } from "playwright-core";
import WebSocket from "ws";

const root = new URL("../", import.meta.url);
const images = new URL("docs/images/", root).pathname;
const WIDTHS = { wide: 1280, narrow: 420 };
const only = process.argv[2];

const browser = await chromium.launch({
  executablePath: process.env.PUBSUBBUD_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const written = [];

/**
 * Opens `url` at each width (both unless `widths` says), lets `ready(page)` settle the page, and writes `<name>-<width>.png`
 * (the whole page, so the narrow shot shows what a phone scrolls through).
 */
async function shoot(name, url, ready = async () => {}, widths = Object.values(WIDTHS)) {
  for (const width of widths) {
    // A short viewport: the whole-page shot is as tall as the content, never padded below it.
    const page = await browser.newPage({ viewport: { width, height: 480 } });
    await page.goto(url);
    await ready(page);
    await page.mouse.move(0, 0); // no button left in its hover colour
    const path = `${images}${name}-${width}.png`;
    await page.screenshot({ path, fullPage: true });
    written.push(path);
    await page.close();
  }
}

const textShown = (text) => (page) =>
  page.waitForFunction((t) => document.body.textContent?.includes(t), text);

/** The relay exactly as `npm start` runs it (after the build), on a free port. */
async function startCliRelay() {
  const child = spawn(
    process.execPath,
    [
      new URL("packages/relay-node/dist/cli.js", root).pathname,
      "relay",
      "--port",
      "0",
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  for (;;) {
    const [chunk] = await once(child.stdout, "data");
    out += chunk;
    const port = /PubsubBud relay on ws:\/\/[^:\s]+:(\d+)/.exec(out)?.[1];
    if (port) return { child, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
  }
}

async function livePage() {
  const relay = await startCliRelay();
  const clients = [];
  try {
    await shoot("live-page-empty", `${relay.http}/`, textShown("No messages in default yet"));
    // A little chat in `default` and a sensor feed in `iot`, over a few seconds so the charts
    // (one sample per second) have a shape.
    const alice = createClient({ url: relay.ws, WebSocket });
    const bob = createClient({ url: relay.ws, WebSocket });
    const sensor = createClient({ url: `${relay.ws}/ns/iot`, WebSocket });
    clients.push(alice, bob, sensor);
    await alice.subscribe("chat.*", () => {}).ready;
    await bob.subscribe("chat.*", () => {}).ready;
    const lines = [
      [alice, "alice", "hi bob, is the relay up?"],
      [bob, "bob", "yes, two of us on it now"],
      [alice, "alice", "the live page shows our messages"],
      [bob, "bob", "and charts of them"],
      [alice, "alice", "per instance and cluster-wide"],
      [bob, "bob", "lunch at noon?"],
      [alice, "alice", "sure, the usual place"],
    ];
    const perSecond = [1, 2, 4, 3, 1, 2, 5, 3, 2, 1, 3, 2];
    let said = 0;
    for (const count of perSecond) {
      for (let n = 0; n < count; n++) {
        const [client, from, text] = lines[said++ % lines.length];
        await client.publish("chat.lobby", { from, text });
      }
      await sensor.publish("sensor.temp", { c: 20 + said / 10 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await shoot("live-page", `${relay.http}/`, (page) =>
      page.waitForFunction(() => document.querySelectorAll("#tail li").length === 20),
    );
  } finally {
    for (const client of clients) client.close();
    relay.child.kill("SIGTERM");
    await once(relay.child, "exit");
  }
}

async function examples() {
  const { startCounter } = await import("../examples/counter/server.mjs");
  const counter = await startCounter({ ports: [0, 0, 0] });
  try {
    const clicker = await browser.newPage();
    await clicker.goto(`${counter.urls[1]}/`);
    await clicker.waitForFunction(() => document.getElementById("state")?.textContent === "open");
    for (let i = 0; i < 3; i++) await clicker.click("#click");
    await clicker.close();
    await shoot("counter", `${counter.urls[0]}/`, (page) =>
      page.waitForFunction(() => document.getElementById("count")?.textContent === "3"),
    );
    // The live page of the first instance: its own connections, and the clicks made on another
    // instance reaching it through Redis.
    await shoot("counter-live", `${counter.urls[0]}/live`, textShown("counter.click"));
  } finally {
    await counter.close();
  }

  const { startShop } = await import("../examples/order-events/server.mjs");
  // A fresh shop per width: each shot places its own orders #1 and #2 on a full stock.
  for (const width of Object.values(WIDTHS)) {
    const shop = await startShop({ port: 0 });
    try {
      await shoot(
        "orders",
        `${shop.url}/`,
        async (page) => {
          await page.waitForFunction(
            () => document.getElementById("state")?.textContent === "open",
          );
          await page.fill("#qty", "2");
          await page.click("button");
          await page.waitForFunction(() => document.body.textContent?.includes("left"));
          await page.fill("#qty", "9");
          await page.click("button");
          await page.waitForFunction(() =>
            document.body.textContent?.includes("failed in handler"),
          );
          await page.waitForFunction(() => document.querySelectorAll("#events li").length >= 7);
        },
        [width],
      );
    } finally {
      await shop.close();
    }
  }

  const { startRpc } = await import("../examples/rpc/server.mjs");
  const rpc = await startRpc({ port: 0 });
  try {
    await shoot("rpc", `${rpc.url}/`, async (page) => {
      await page.waitForFunction(() => document.getElementById("state")?.textContent === "open");
      await page.click("#divide");
      await page.waitForFunction(() => document.getElementById("answer")?.textContent === "= 2");
    });
  } finally {
    await rpc.close();
  }

  const { startBridge } = await import("../examples/iot-bridge/server.mjs");
  const bridge = await startBridge({ port: 0 });
  const open = (page) =>
    page.waitForFunction(() => document.getElementById("state")?.textContent === "open");
  try {
    await shoot("iot-empty", `${bridge.url}/`, open);
    // Readings through the relay on the MQTT broker, as a browser or a Node client would send.
    const sensors = createClient({ url: `${bridge.url.replace("http", "ws")}/ns/iot`, WebSocket });
    await shoot("iot", `${bridge.url}/`, async (page) => {
      await open(page);
      await sensors.publish("sensor.temp", { c: 21.5 });
      await sensors.publish("sensor.humidity", { percent: 48 });
      await sensors.publish("sensor.door", { open: false, since: "07:42" });
      await page.waitForFunction(() => document.querySelectorAll("#sensors tr").length === 3);
    });
    sensors.close();
  } finally {
    await bridge.close();
  }
}

try {
  await livePage();
  if (only !== "live") await examples();
  process.stdout.write(`wrote\n${written.map((path) => `  ${path}`).join("\n")}\n`);
} finally {
  await browser.close();
}

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, type PubsubBudClient, request } from "@pubsubbud/client";
import { type RunningRelay, startRelay } from "@pubsubbud/relay-node";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../helpers/chromium.js";
import { waitFor } from "../helpers/wait.js";

/** The page's script: the real client, bundled for the browser like a user's app would. */
const PAGE_ENTRY = `
import { createClient, pageLifecycle, serve } from "@pubsubbud/client";
const received = [];
window.received = received;
window.start = async (url) => {
  const client = createClient({ url, lifecycle: pageLifecycle() });
  window.client = client;
  await client.subscribe("browser.*", (m) => received.push([m.channel, m.data])).ready;
  serve(client, "page.echo", (req) => ({ echoed: req.data, from: navigator.userAgent.includes("Chrome") ? "chromium" : "?" }));
  return client.id;
};
window.publish = (channel, data) => window.client.publish(channel, data);
`;

describe.skipIf(chromiumMissing())("client in real Chromium", () => {
  let relay: RunningRelay;
  let server: Server;
  let browser: Browser;
  let page: Page;
  let node: PubsubBudClient;

  beforeAll(async () => {
    relay = await startRelay({ port: 0 });
    const bundle = await build({
      stdin: { contents: PAGE_ENTRY, resolveDir: process.cwd(), loader: "js" },
      bundle: true,
      format: "iife",
      platform: "browser",
      write: false,
    });
    const script = bundle.outputFiles[0]?.text ?? "";
    expect(script).not.toMatch(/require\("(ws|node:)/);
    server = createServer((req, res) => {
      if (req.url === "/app.js")
        res.writeHead(200, { "content-type": "text/javascript" }).end(script);
      else
        res
          .writeHead(200, { "content-type": "text/html" })
          .end('<!doctype html><script src="/app.js"></script>');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.evaluate(
      (url) => (window as unknown as { start(u: string): Promise<string> }).start(url),
      relay.wsUrl,
    );
    node = createClient({ url: relay.wsUrl, WebSocket });
  });

  afterAll(async () => {
    node?.close();
    await browser?.close();
    server?.close();
    await relay?.close(1000);
  });

  it("receives pattern subscriptions from Node publishers through the global WebSocket", async () => {
    await node.publish("browser.news", { n: 1 });
    await node.publish("elsewhere", { n: 2 });
    await node.publish("browser.sport", { n: 3 });
    await page.waitForFunction(
      () => (window as unknown as { received: unknown[] }).received.length === 2,
    );
    const received = await page.evaluate(
      () => (window as unknown as { received: unknown[] }).received,
    );
    expect(received).toEqual([
      ["browser.news", { n: 1 }],
      ["browser.sport", { n: 3 }],
    ]);
  });

  it("publishes to Node subscribers and answers their requests", async () => {
    const got: unknown[] = [];
    await node.subscribe("from.page", (m) => void got.push(m.data)).ready;
    await page.evaluate(() =>
      (window as unknown as { publish(c: string, d: unknown): Promise<unknown> }).publish(
        "from.page",
        "hello node",
      ),
    );
    await waitFor(() => got.length === 1, "the page's message");
    expect(got).toEqual(["hello node"]);
    const answer = await request(node, "page.echo", { q: 42 }, { timeout: 5000 });
    expect(answer.data).toEqual({ echoed: { q: 42 }, from: "chromium" });
  });
});

// A Node service built on @pubsubbud/relay-node (memory broker): one server for the relay's
// socket and HTTP routes and the page Vite built into dist/. Prints "listening on <port>".
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createMemoryBroker, createRelay } from "@pubsubbud/relay-node";

const relay = createRelay({ broker: createMemoryBroker() });
const dist = new URL("./dist/", import.meta.url);
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

const server = createServer(async (req, res) => {
  if (await relay.handleRequest(req, res)) return;
  const path = new URL(req.url ?? "/", "http://service").pathname;
  const file = new URL(`.${path === "/" ? "/index.html" : path}`, dist);
  const body = file.href.startsWith(dist.href) ? await readFile(file).catch(() => null) : null;
  if (!body) return res.writeHead(404).end();
  const type = TYPES[path === "/" ? ".html" : path.slice(path.lastIndexOf("."))];
  res.writeHead(200, { "content-type": type ?? "application/octet-stream" }).end(body);
});
server.on("upgrade", relay.handleUpgrade);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening on ${server.address().port}\n`);
});

// The README's embedded pattern, verbatim in shape: a user's own server that hands requests to
// the relay and everything else to the app. Run as a process of its own, so a test can see an
// unhandled rejection end it (Node's default), as it would end the user's app.
import { createServer } from "node:http";
import { createRelay } from "@pubsubbud/relay-node";

const relay = createRelay({
  authenticate: ({ token }) => token === "a-service-token" && { user: "svc" },
});
const app = (_req, res) => res.writeHead(404).end("app");
const server = createServer(async (req, res) => {
  if (!(await relay.handleRequest(req, res))) app(req, res);
});
server.on("upgrade", relay.handleUpgrade);
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`listening on ${server.address().port}\n`),
);

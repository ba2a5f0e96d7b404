// One HTTP server for an example: its page at /, the bundled script at /app.js, the relay's live
// page at /live, and the relay's WebSocket and HTTP endpoints for everything else.
import { createServer } from "node:http";

/**
 * @param {{ relay: { handleRequest: Function, handleUpgrade: Function }, html: string,
 *   app: string, port?: number, host?: string }} options
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function servePage({ relay, html, app, port = 0, host = "127.0.0.1" }) {
  const server = createServer(async (req, res) => {
    if (req.url === "/") return void res.writeHead(200, { "content-type": "text/html" }).end(html);
    if (req.url === "/app.js")
      return void res.writeHead(200, { "content-type": "text/javascript" }).end(app);
    if (req.url === "/live") req.url = "/";
    if (!(await relay.handleRequest(req, res))) res.writeHead(404).end();
  });
  server.on("upgrade", relay.handleUpgrade);
  await new Promise((done) => server.listen(port, host, done));
  const bound = server.address().port;
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    close: () => new Promise((done) => server.close(done)),
  };
}

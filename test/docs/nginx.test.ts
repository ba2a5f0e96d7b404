/**
 * deploy/nginx/pubsubbud.conf, as committed, in front of relay-node: real nginx on a free port
 * with a self-signed certificate made here by openssl, a client that trusts only that
 * certificate connects over wss://, and a publish over https:// reaches it. The test only points
 * the file at its port, certificate and relay (each replacement must match, so the file cannot
 * drift from what is tested). Without nginx the suite is skipped with the reason; with
 * PUBSUBBUD_REQUIRE_SERVICES=1 (CI, where .ci/run installs nginx) it fails.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Message } from "@pubsubbud/client";
import { startRelay } from "@pubsubbud/relay-node";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandExists } from "../helpers/commands.js";
import { missing } from "../helpers/requirements.js";
import { waitFor } from "../helpers/wait.js";

const NGINX = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"].find(existsSync) ?? "nginx";
const skip = missing(
  "nginx",
  existsSync(NGINX) || commandExists("nginx"),
  "apt-get install nginx (.ci/run does)",
);
const SITE = new URL("../../deploy/nginx/pubsubbud.conf", import.meta.url);

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** Replaces `from` in `text`, failing when the committed file no longer contains it. */
function point(text: string, from: string, to: string): string {
  expect(text, `deploy/nginx/pubsubbud.conf should contain ${from}`).toContain(from);
  return text.replaceAll(from, to);
}

describe.skipIf(skip)("nginx with deploy/nginx/pubsubbud.conf in front of relay-node", () => {
  const dir = mkdtempSync(join(tmpdir(), "pubsubbud-nginx-"));
  let nginx: ChildProcess | undefined;
  let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
  let port = 0;
  let cert = "";

  beforeAll(async () => {
    const key = join(dir, "key.pem");
    const certFile = join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        certFile,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    cert = readFileSync(certFile, "utf8");
    relay = await startRelay({ port: 0, host: "127.0.0.1", clientIpHeader: "x-real-ip" });
    port = await freePort();
    let site = readFileSync(SITE, "utf8");
    site = point(site, "listen 443 ssl;", `listen 127.0.0.1:${port} ssl;`);
    site = point(site, "server 127.0.0.1:8080;", `server 127.0.0.1:${relay.port};`);
    site = point(site, "/etc/ssl/pubsubbud/fullchain.pem", certFile);
    site = point(site, "/etc/ssl/pubsubbud/privkey.pem", key);
    writeFileSync(join(dir, "site.conf"), site);
    for (const temp of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, temp));
    // The main file stands in for /etc/nginx/nginx.conf: one process, everything in `dir`.
    writeFileSync(
      join(dir, "nginx.conf"),
      `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
    );
    const started = spawn(
      NGINX,
      ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    nginx = started;
    let stderr = "";
    started.stderr?.on("data", (chunk) => (stderr += chunk));
    // nginx writes its pid file once its sockets listen.
    await waitFor(
      () => existsSync(join(dir, "nginx.pid")) || started.exitCode !== null,
      "nginx to start",
    );
    if (started.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill("SIGTERM");
      await once(nginx, "exit");
    }
    await relay?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An HTTPS request through nginx that trusts only the test's certificate. */
  function https(path: string, body?: unknown): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path,
          method: body === undefined ? "GET" : "POST",
          ca: cert,
          headers: body === undefined ? {} : { "content-type": "application/json" },
        },
        (res) => {
          let text = "";
          res.on("data", (chunk) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  it("answers /healthz over https", async () => {
    const health = await https("/healthz");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
  });

  it("carries a wss:// client's subscription and delivers an https publish to it", async () => {
    /** `ws` that verifies the relay's certificate against the test's own CA. */
    class TrustingWebSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols, { ca: cert });
      }
    }
    const client = createClient({
      url: `wss://127.0.0.1:${port}/ns/deploy`,
      WebSocket: TrustingWebSocket,
    });
    try {
      const got: Message[] = [];
      const sub = client.subscribe("sensor.*", (msg) => {
        got.push(msg);
      });
      await sub.ready;
      const published = await https("/v1/ns/deploy/publish", {
        channel: "sensor.temp",
        data: { c: 21 },
      });
      expect(published.status).toBe(200);
      await waitFor(() => got.length > 0, "the message through nginx");
      expect(got.map((msg) => [msg.channel, msg.data])).toEqual([["sensor.temp", { c: 21 }]]);
    } finally {
      client.close();
    }
  });
});

/**
 * Fuzzing the HTTP and upgrade surface of both relays, configured as a production user would
 * (JWT secret, aud/iss, narrow grants, origin allowlist, live page with an admin token):
 * relay-node as the `pubsubbud` CLI process over raw sockets, relay-worker in workerd through
 * Miniflare. Generated request lines, paths, methods, headers and bodies; after every one the
 * relay is still up, its answer is a documented status with a documented code, nothing was
 * logged as an error, and a bystander's publish still comes back to it.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { createToken } from "@pubsubbud/relay-core";
import fc from "fast-check";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DOCUMENTED_CODES,
  DOCUMENTED_STATUSES,
  describeRequest,
  type FuzzRequest,
  fuzzRequest,
  garbage,
  isUpgrade,
  requestBytes,
} from "../helpers/http-fuzz.js";
import { type RawAnswer, rawRequest } from "../helpers/http-raw.js";
import { openRaw, type RawPeer, rawClientId } from "../helpers/raw.js";
import { type RelayProcess, startRelayProcess } from "../helpers/relay-process.js";
import { startWorker } from "../helpers/workerd.js";

const secret = "a-fuzzing-secret-that-is-long-enough-for-hs256";
const adminToken = "an-admin-token-of-at-least-thirty-two-bytes";
const audience = "chat-app";
const issuer = "https://auth.example";
const bystanderGrants = { chat: { subscribe: ["chat.bystander"], publish: ["chat.bystander"] } };

/** A connected client whose publishes come back to it: the relay still serves others. */
async function bystander(wsUrl: string): Promise<{ roundTrip(): Promise<void>; close(): void }> {
  const token = await createToken({
    key: { alg: "HS256", secret },
    user: "bystander",
    grants: bystanderGrants,
    audience,
    issuer,
  });
  const peer: RawPeer = await openRaw(`${wsUrl}/ns/chat`, { Origin: "https://app.example.com" });
  peer.send({ type: "hello", client: rawClientId("bystander"), token });
  peer.send({ type: "subscribe", id: "s", pattern: "chat.bystander" });
  await peer.next((f) => f.type === "subscribed", "the bystander's subscription");
  let n = 0;
  return {
    async roundTrip() {
      const id = `b${++n}`;
      const from = peer.frames.length;
      peer.send({ type: "publish", id, channel: "chat.bystander", data: n });
      await peer.next((f) => f.type === "message" && f.id === id, `bystander message ${id}`, from);
    },
    close: () => peer.close(),
  };
}

/** A fixed seed in CI; another one by hand: PUBSUBBUD_FUZZ_SEED=<n> npx vitest run test/security. */
const FUZZ_SEED = Number(process.env.PUBSUBBUD_FUZZ_SEED ?? 20261129);

/** The contract of one answer; returns why it breaks it, or undefined. */
function answerProblem(answer: RawAnswer, head: boolean): string | undefined {
  if (answer.status === 500) return `500: ${answer.body.slice(0, 200)}`;
  if (!DOCUMENTED_STATUSES.has(answer.status))
    return `undocumented status ${answer.status}: ${answer.body.slice(0, 200)}`;
  if (answer.status === 101 || answer.status === 200 || head) return undefined;
  const code = (answer.json as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string" || !DOCUMENTED_CODES.has(code))
    return `status ${answer.status} without a documented code: ${answer.body.slice(0, 200)}`;
  return undefined;
}

describe("relay-node's HTTP and upgrade surface under fuzzing (the CLI, production config)", () => {
  let relay: RelayProcess;
  let peer: Awaited<ReturnType<typeof bystander>>;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "pubsubbud-fuzz-"));
    const config = join(dir, "relay.json");
    writeFileSync(
      config,
      JSON.stringify({
        auth: {
          jwt: { keys: [{ alg: "HS256", secret }], audience, issuer },
          allowedOrigins: ["https://app.example.com"],
        },
        logLevel: "error",
      }),
    );
    relay = await startRelayProcess(["relay", "--port", "0", "--config", config], {
      PUBSUBBUD_ADMIN_TOKEN: adminToken,
    });
    peer = await bystander(relay.wsUrl);
  });
  afterAll(async () => {
    peer?.close();
    await relay?.stop();
  });

  /** Sends one request and checks the relay, its answer and the bystander. */
  async function check(bytes: Buffer, what: string, upgrade: boolean, head: boolean) {
    // An upgrade is answered without the request ending; any other request is ended, so the
    // server sees a request cut short as exactly that.
    const answer = await rawRequest(relay.port, bytes, { end: !upgrade, head });
    expect(relay.alive(), `the relay died on ${what}:\n${relay.stderr()}`).toBe(true);
    expect(answerProblem(answer, head), what).toBeUndefined();
    expect(relay.stderr(), what).not.toMatch(/"level":"error"/);
    await peer.roundTrip();
  }

  it("stays up and answers every generated request with a documented status and code", async () => {
    await fc.assert(
      fc.asyncProperty(fuzzRequest, async (request) => {
        await check(
          requestBytes(request),
          describeRequest(request),
          isUpgrade(request),
          request.method === "HEAD",
        );
      }),
      { numRuns: 250, seed: FUZZ_SEED },
    );
  }, 120_000);

  it("stays up and answers raw garbage with a documented status and code", async () => {
    await fc.assert(
      fc.asyncProperty(garbage, async (bytes) => {
        await check(bytes, JSON.stringify(bytes.toString("latin1")), false, false);
      }),
      { numRuns: 100, seed: FUZZ_SEED },
    );
  });

  // The first case fast-check found on main: one unauthenticated request killed the process.
  it("refuses an upgrade for /ns/% (a malformed percent-escape) with 400 bad_namespace and stays up", async () => {
    const answer = await rawRequest(
      relay.port,
      "GET /ns/% HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      { end: false },
    );
    expect(answer).toMatchObject({ status: 400, json: { code: "bad_namespace" } });
    expect(relay.alive()).toBe(true);
    await peer.roundTrip();
  });

  it("refuses a publish to /v1/ns/%/publish with 404 bad_namespace", async () => {
    const answer = await rawRequest(
      relay.port,
      "POST /v1/ns/%/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    );
    expect(answer).toMatchObject({ status: 404, json: { code: "bad_namespace" } });
  });
});

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]);

describe("relay-worker's HTTP and upgrade surface under fuzzing (workerd, production vars)", () => {
  let worker: Miniflare;
  let port: number;
  let logged = "";
  let peer: Awaited<ReturnType<typeof bystander>>;
  beforeAll(async () => {
    ({ worker, port } = await startWorker(
      {
        JWT_SECRET: secret,
        JWT_AUDIENCE: audience,
        JWT_ISSUER: issuer,
        ALLOWED_ORIGINS: "https://app.example.com",
      },
      {
        handleRuntimeStdio(stdout: Readable, stderr: Readable) {
          stdout.on("data", (chunk: Buffer) => (logged += chunk));
          stderr.on("data", (chunk: Buffer) => (logged += chunk));
        },
      },
    ));
    peer = await bystander(`ws://127.0.0.1:${port}`);
  });
  afterAll(async () => {
    peer?.close();
    await worker?.dispose();
  });

  /**
   * Sends a generated request through Miniflare; undefined when it never reaches the Worker:
   * the client refuses to send it, or the runtime answers a method it does not know (501).
   */
  async function send(request: FuzzRequest): Promise<RawAnswer | undefined> {
    if (!STANDARD_METHODS.has(request.method)) return undefined;
    let response: Response;
    try {
      const url = new URL(request.path, `http://127.0.0.1:${port}`);
      response = (await worker.dispatchFetch(url, {
        method: request.method,
        headers: request.headers.filter(
          ([name]) => !["host", "content-length", "transfer-encoding"].includes(name.toLowerCase()),
        ),
        ...(request.body && !["GET", "HEAD"].includes(request.method.toUpperCase())
          ? { body: request.body }
          : {}),
      })) as unknown as Response;
    } catch (error) {
      const cause = (error as { cause?: { code?: string; name?: string } }).cause;
      // The client (undici, ws) refused to build it: an invalid method or header never leaves.
      if (error instanceof SyntaxError || cause?.name === "InvalidArgumentError") return undefined;
      if (error instanceof TypeError && !/fetch failed/.test(error.message)) return undefined;
      // The relay answered before reading a body it does not need (a 404, a 413), and the
      // runtime reset the connection under the client's write: no answer to check.
      if (cause?.code === "ECONNRESET") return undefined;
      throw error;
    }
    type Socket = { accept(): void; close(): void };
    const socket = (response as { webSocket?: Socket | null }).webSocket;
    if (socket) {
      socket.accept();
      socket.close();
    }
    const body = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {}
    return { status: response.status, headers: {}, body, json };
  }

  it("answers every generated request with a documented status and code, and keeps serving", async () => {
    await fc.assert(
      fc.asyncProperty(fuzzRequest, async (request) => {
        const answer = await send(request);
        if (answer === undefined) return;
        const what = describeRequest(request);
        expect(
          answerProblem(answer, request.method.toUpperCase() === "HEAD"),
          what,
        ).toBeUndefined();
        expect(logged, what).not.toMatch(/Uncaught|"level":"error"/);
        await peer.roundTrip();
      }),
      { numRuns: 150, seed: FUZZ_SEED },
    );
  }, 120_000);

  it("refuses /ns/% and /v1/ns/%/publish with bad_namespace, not an uncaught URIError", async () => {
    const request = (method: string, path: string, headers: Array<[string, string]>) =>
      send({ method, path, version: "HTTP/1.1", headers, body: method === "POST" ? "{}" : "" });
    expect(await request("GET", "/ns/%", [["upgrade", "websocket"]])).toMatchObject({
      status: 400,
      json: { code: "bad_namespace" },
    });
    expect(
      await request("POST", "/v1/ns/%/publish", [["content-type", "application/json"]]),
    ).toMatchObject({ status: 404, json: { code: "bad_namespace" } });
    expect(logged).not.toMatch(/Uncaught/);
  });
});

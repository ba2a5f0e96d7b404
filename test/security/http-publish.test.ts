/**
 * Attacks on `POST /v1/ns/<ns>/publish` of both relays (relay-node on a port, relay-worker in
 * workerd), each counted against the publisher's log: the acks it got are the only messages a
 * subscriber or a resuming client may ever see. One case uses a broker that cannot confirm a
 * publish: a fake, for that failure only (a real broker's lost confirmation cannot be produced
 * on demand), wrapping the real memory broker.
 */
import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { fileURLToPath } from "node:url";
import { type Broker, createMemoryBroker, PublishUncertainError } from "@pubsubbud/relay-core";
import { createRelay } from "@pubsubbud/relay-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseResponse, type RawAnswer, rawRequest, stalledSocket } from "../helpers/http-raw.js";
import { openRaw, type RawPeer, rawClientId } from "../helpers/raw.js";
import { startRelayProcess } from "../helpers/relay-process.js";
import { startWorker } from "../helpers/workerd.js";

const json = { "content-type": "application/json" };
const deep = (depth: number) =>
  `{"channel":"deep.x","data":${"[".repeat(depth)}${"]".repeat(depth)}}`;

/** A relay target for these attacks: where to publish, and where clients connect. */
interface Target {
  wsUrl: string;
  /** Sends a request; the Worker's goes through Miniflare, relay-node's over the network. */
  fetch(path: string, init: RequestInit): Promise<Response>;
}

/** A subscriber to every channel of `ns`, and what it was told. */
async function subscriber(target: Target, ns: string, resume?: { epoch: string }) {
  const peer = await openRaw(`${target.wsUrl}/ns/${ns}`, { Origin: "https://app.example.com" });
  peer.send({
    type: "hello",
    client: rawClientId("sub"),
    subscriptions: [{ id: "all", pattern: "*" }],
    ...(resume ? { resume: { epoch: resume.epoch, offset: "" } } : {}),
  });
  const welcome = await peer.next((f) => f.type === "welcome", "welcome");
  await peer.next((f) => f.type === "subscribed", "subscribed");
  return { peer, epoch: (welcome as { epoch: string }).epoch };
}

const ids = (peer: RawPeer) =>
  peer.frames.filter((f) => f.type === "message").map((f) => (f as { id: string }).id);

function publishAttacks(name: string, start: () => Promise<Target & { stop(): Promise<void> }>) {
  describe(`HTTP publish attacks on ${name}`, () => {
    let target: Target & { stop(): Promise<void> };
    beforeAll(async () => {
      target = await start();
    });
    afterAll(() => target.stop());

    const post = (ns: string, body: string, headers: Record<string, string> = json) =>
      target.fetch(`/v1/ns/${ns}/publish`, { method: "POST", headers, body });

    it("refuses data nested past maxDepth with 400 too_deep, so no log or replay ever holds it", async () => {
      const { peer, epoch } = await subscriber(target, "deep");
      const refused = await post("deep", deep(5000));
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ code: "too_deep" });
      const acked = await post("deep", '{"channel":"deep.ok","data":1,"id":"ok"}');
      expect(await acked.json()).toMatchObject({ id: "ok", offset: "1" });
      await peer.next((f) => f.type === "message" && f.id === "ok", "the acknowledged message");
      // A client resuming from the start gets the publisher's log: exactly what was acknowledged.
      const resumed = await subscriber(target, "deep", { epoch });
      await resumed.peer.next((f) => f.type === "message" && f.id === "ok", "the replay");
      expect(ids(peer)).toEqual(["ok"]);
      expect(ids(resumed.peer)).toEqual(["ok"]);
      peer.close();
      resumed.peer.close();
    });

    it("refuses a body that is not application/json with 415 (a cross-site form or text/plain post)", async () => {
      for (const type of [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
      ]) {
        const refused = await post("csrf", '{"channel":"csrf.x","data":1}', {
          "content-type": type,
        });
        expect(refused.status).toBe(415);
        expect(await refused.json()).toMatchObject({ code: "unsupported_media_type" });
      }
      expect((await post("csrf", '{"channel":"csrf.x","data":1}')).status).toBe(200);
    });

    it("holds HTTP publishes to the origin allowlist, as sockets are", async () => {
      const refused = await post("origin", '{"channel":"origin.x","data":1}', {
        ...json,
        origin: "https://evil.example",
      });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: "forbidden" });
      const allowed = await post("origin", '{"channel":"origin.x","data":1}', {
        ...json,
        origin: "https://app.example.com",
      });
      expect(allowed.status).toBe(200);
    });

    it("refuses a __proto__ header with 400 bad_headers instead of dropping it silently", async () => {
      const refused = await post(
        "proto",
        '{"channel":"proto.x","data":1,"headers":{"__proto__":"x"}}',
      );
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ code: "bad_headers" });
    });
  });
}

publishAttacks("relay-node", async () => {
  const relay = await createRelay({ allowedOrigins: ["https://app.example.com"] }).listen({
    port: 0,
  });
  return {
    wsUrl: relay.wsUrl,
    fetch: (path, init) => fetch(`${relay.url}${path}`, init),
    stop: () => relay.close(1000),
  };
});

const workerVars = { ANONYMOUS: "all", ALLOWED_ORIGINS: "https://app.example.com" };

publishAttacks("relay-worker in workerd", async () => {
  const { worker, port } = await startWorker(workerVars);
  return {
    wsUrl: `ws://127.0.0.1:${port}`,
    fetch: (path, init) =>
      worker.dispatchFetch(`http://127.0.0.1:${port}${path}`, init as never) as never,
    stop: () => worker.dispose(),
  };
});

describe("HTTP publish bodies are bounded before they are read", () => {
  it("relay-node answers 413 from a Content-Length past maxFrameBytes without waiting for the body", async () => {
    await using relay = await createRelay().listen({ port: 0 });
    const { socket, answer } = await stalledSocket(
      relay.port,
      "POST /v1/ns/big/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{",
    );
    expect(await answer).toMatchObject({ status: 413, json: { code: "frame_too_large" } });
    socket.destroy();
  });

  it("relay-worker answers 413 once a streamed body passes maxFrameBytes, without reading to its end", async () => {
    const { worker, port } = await startWorker(workerVars);
    try {
      // A chunked body that never ends: answered as soon as it is too large, or never.
      const socket = connect(port, "127.0.0.1");
      let raw = "";
      socket.on("data", (chunk) => (raw += chunk));
      socket.on("error", () => {});
      await new Promise((resolve) => socket.once("connect", resolve));
      const chunk = "x".repeat(70_000);
      socket.write(
        "POST /v1/ns/big/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
          `${chunk.length.toString(16)}\r\n${chunk}\r\n`,
      );
      const answer = await new Promise<RawAnswer>((resolve) => {
        const check = () => {
          const parsed = parseResponse(raw);
          if (parsed) resolve(parsed);
          else socket.once("data", check);
        };
        check();
      });
      expect(answer).toMatchObject({ status: 413, json: { code: "frame_too_large" } });
      socket.destroy();
    } finally {
      await worker.dispose();
    }
  });
});

describe("a publish whose outcome the broker cannot confirm", () => {
  it("is answered 503 publish_uncertain over HTTP (retry with the same id), not 400", async () => {
    const memory = createMemoryBroker();
    const unsure: Broker = {
      ...memory,
      name: memory.name,
      capabilities: memory.capabilities,
      publish: async () => {
        throw new PublishUncertainError("the confirmation was lost");
      },
    };
    await using relay = await createRelay({ broker: unsure }).listen({ port: 0 });
    const answer = await fetch(`${relay.url}/v1/ns/chat/publish`, {
      method: "POST",
      headers: json,
      body: '{"channel":"chat.x","data":1,"id":"m1"}',
    });
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ code: "publish_uncertain" });
  });
});

describe("the README's embedded relay (createServer(async …) calling handleRequest)", () => {
  it("stays up on a bad namespace path and on a body cut off mid-request", async () => {
    const script = fileURLToPath(new URL("../helpers/embedded-relay.mjs", import.meta.url));
    const app = await startRelayProcess([], {}, script);
    try {
      const bad = await rawRequest(
        app.port,
        "POST /v1/ns/%/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
      );
      expect(bad).toMatchObject({ status: 404, json: { code: "bad_namespace" } });
      // Half the body, then the client ends its side: reading the body fails mid-way.
      const cut = await rawRequest(
        app.port,
        "POST /v1/ns/chat/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a-service-token\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
      );
      // The user's server answers what its parser refused (here Node's own 400); the relay's
      // part is that its handler settles instead of rejecting.
      expect(cut.status).toBe(400);
      const health = await rawRequest(app.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      expect(health.status).toBe(200);
      expect(app.alive(), app.stderr()).toBe(true);
    } finally {
      await app.stop();
    }
  });

  it("answers a failure inside the relay's handler with 500 internal instead of rejecting", async () => {
    const memory = createMemoryBroker();
    const broken: Broker = {
      ...memory,
      healthy: () => {
        throw new Error("the health probe itself failed");
      },
    };
    const relay = createRelay({ broker: broken });
    // The README's pattern: an async listener whose rejection nobody handles.
    const server = createServer(async (req, res) => {
      if (!(await relay.handleRequest(req, res))) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await rawRequest(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      expect(answer).toMatchObject({ status: 500, json: { code: "internal" } });
    } finally {
      server.close();
      await relay.close(100);
    }
  });
});

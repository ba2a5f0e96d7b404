/**
 * Who can read the live page's data (`/v1/stats`: every namespace's recent messages): attacks by
 * a client without the admin token, by a web page through DNS rebinding (a Host header naming
 * the attacker's domain, resolved to the relay's address), and by anyone reading a private
 * inbox's replies there. Through relay-node on a port and the `pubsubbud` CLI.
 */
import { createJwtAuth, createToken } from "@pubsubbud/relay-core";
import { createRelay, type RunningRelay } from "@pubsubbud/relay-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RawAnswer, rawRequest } from "../helpers/http-raw.js";
import { openRaw, rawClientId } from "../helpers/raw.js";
import { startRelayProcess } from "../helpers/relay-process.js";

const secret = "a-test-secret-that-is-long-enough-for-hs256";
const adminToken = "an-admin-token-of-at-least-thirty-two-bytes";

/** A GET with exactly these headers (a browser after DNS rebinding sends its own Host). */
function get(port: number, path: string, headers: Record<string, string>): Promise<RawAnswer> {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return rawRequest(port, `GET ${path} HTTP/1.1\r\n${lines.join("")}\r\n`);
}

describe("the live page of an embedded relay", () => {
  it("is off unless the app turns it on: / and /v1/stats are not the relay's", async () => {
    await using relay = await createRelay().listen({ port: 0 });
    const host = { host: `127.0.0.1:${relay.port}` };
    expect(await get(relay.port, "/v1/stats", host)).toMatchObject({
      status: 404,
      json: { code: "not_found" },
    });
    expect((await get(relay.port, "/", host)).status).toBe(404);
  });

  it("refuses to start with auth and no admin token, rather than show messages to anyone", () => {
    const authenticate = createJwtAuth({ keys: [{ alg: "HS256", secret }] });
    expect(() => createRelay({ authenticate, livePage: true })).toThrow(/adminToken/);
    expect(() => createRelay({ authenticate, livePage: { adminToken: "short" } })).toThrow(
      /at least 32 bytes/,
    );
  });
});

describe("the live page of a relay with auth", () => {
  let relay: RunningRelay;
  let host: Record<string, string>;
  beforeAll(async () => {
    relay = await createRelay({
      authenticate: createJwtAuth({ keys: [{ alg: "HS256", secret }], audience: "chat-app" }),
      livePage: { adminToken },
    }).listen({ port: 0 });
    host = { host: `127.0.0.1:${relay.port}` };
  });
  afterAll(() => relay.close());

  it("answers /v1/stats only to the admin token: 401 without it, with another, or with a user's token", async () => {
    const user = await createToken({
      key: { alg: "HS256", secret },
      user: "alice",
      grants: { "*": { subscribe: ["*"], publish: ["*"] } },
      audience: "chat-app",
    });
    for (const authorization of [
      undefined,
      `Bearer ${adminToken}x`,
      `Bearer ${user}`,
      adminToken,
    ]) {
      const answer = await get(relay.port, "/v1/stats", {
        ...host,
        ...(authorization ? { authorization } : {}),
      });
      expect(answer).toMatchObject({ status: 401, json: { code: "unauthorized" } });
      expect(answer.headers["www-authenticate"]).toMatch(/^Bearer/);
    }
    const admitted = await get(relay.port, "/v1/stats", {
      ...host,
      authorization: `Bearer ${adminToken}`,
    });
    expect(admitted.status).toBe(200);
    expect(admitted.json).toMatchObject({ connections: 0, tail: [] });
  });

  it("refuses a Host that is not the relay's (DNS rebinding) even with the token", async () => {
    for (const name of ["evil.example", `evil.example:${relay.port}`, "127.0.0.1.evil.example"]) {
      const answer = await get(relay.port, "/v1/stats", {
        host: name,
        authorization: `Bearer ${adminToken}`,
      });
      expect(answer).toMatchObject({ status: 403, json: { code: "forbidden" } });
      expect((await get(relay.port, "/", { host: name })).status).toBe(403);
    }
  });

  it("serves the page itself (no data in it) with headers that forbid framing it", async () => {
    const page = await get(relay.port, "/", host);
    expect(page.status).toBe(200);
    expect(page.body).toContain("<title>PubsubBud relay</title>");
    expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(page.headers["x-frame-options"]).toBe("DENY");
  });
});

describe("private inboxes on the live page", () => {
  it("never shows an inbox's messages (replies and their data) in /v1/stats", async () => {
    await using relay = await createRelay({ livePage: true }).listen({ port: 0 });
    const requester = await openRaw(relay.wsUrl);
    requester.send({ type: "hello", client: rawClientId("requester") });
    const welcome = await requester.next((f) => f.type === "welcome", "welcome");
    const inbox = welcome.type === "welcome" ? welcome.inbox : "";
    requester.send({ type: "subscribe", id: "inbox", pattern: inbox });
    await requester.next((f) => f.type === "subscribed", "the inbox subscription");
    const responder = await openRaw(relay.wsUrl);
    responder.send({ type: "hello", client: rawClientId("responder") });
    responder.send({
      type: "publish",
      id: "r1",
      channel: inbox,
      data: "the secret answer",
    });
    responder.send({ type: "publish", id: "p1", channel: "public.x", data: "for everyone" });
    await requester.next((f) => f.type === "message" && f.id === "r1", "the reply");
    await responder.next((f) => f.type === "ack" && f.id === "p1", "the public ack");
    const stats = await get(relay.port, "/v1/stats", { host: `127.0.0.1:${relay.port}` });
    const tail = (stats.json as { tail: Array<{ id: string }> }).tail.map((m) => m.id);
    expect(tail).toContain("p1");
    expect(tail).not.toContain("r1");
    expect(stats.body).not.toContain("the secret answer");
    requester.close();
    responder.close();
  });
});

describe("the live page of the pubsubbud CLI", () => {
  it("keeps the quick start: on loopback without auth, the page and its stats answer at 127.0.0.1 and localhost", async () => {
    const relay = await startRelayProcess(["relay", "--port", "0", "--log-level", "warn"]);
    try {
      for (const name of ["127.0.0.1", "localhost"]) {
        const host = { host: `${name}:${relay.port}` };
        expect((await get(relay.port, "/", host)).body).toContain("<title>PubsubBud relay</title>");
        expect((await get(relay.port, "/v1/stats", host)).status).toBe(200);
      }
      // A web page that rebinds its own name to 127.0.0.1 reads nothing.
      const rebound = await get(relay.port, "/v1/stats", { host: `evil.example:${relay.port}` });
      expect(rebound).toMatchObject({ status: 403, json: { code: "forbidden" } });
    } finally {
      await relay.stop();
    }
  });

  it("keeps the page off under auth without an admin token, and refuses --live-page then", async () => {
    const env = { PUBSUBBUD_JWT_SECRET: secret };
    const relay = await startRelayProcess(["relay", "--port", "0", "--log-level", "warn"], env);
    try {
      const stats = await get(relay.port, "/v1/stats", { host: `127.0.0.1:${relay.port}` });
      expect(stats).toMatchObject({ status: 404, json: { code: "not_found" } });
    } finally {
      await relay.stop();
    }
    await expect(
      startRelayProcess(["relay", "--port", "0", "--live-page"], { PUBSUBBUD_ANONYMOUS: "all" }),
    ).rejects.toThrow(/PUBSUBBUD_ADMIN_TOKEN/);
  });

  it("serves it under auth with PUBSUBBUD_ADMIN_TOKEN, its data only to that token", async () => {
    const env = { PUBSUBBUD_JWT_SECRET: secret, PUBSUBBUD_ADMIN_TOKEN: adminToken };
    const relay = await startRelayProcess(["relay", "--port", "0", "--log-level", "warn"], env);
    try {
      const host = { host: `127.0.0.1:${relay.port}` };
      expect((await get(relay.port, "/v1/stats", host)).status).toBe(401);
      const admitted = await get(relay.port, "/v1/stats", {
        ...host,
        authorization: `Bearer ${adminToken}`,
      });
      expect(admitted.status).toBe(200);
    } finally {
      await relay.stop();
    }
  });
});

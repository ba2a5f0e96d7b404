/**
 * Attacks on authentication and grants, through a real relay-node on a port: each case is a
 * hostile client, and each asserts what the relay refuses or never delivers.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { SUBPROTOCOL } from "@pubsubbud/protocol";
import { createJwtAuth, createToken, type RelayLimits } from "@pubsubbud/relay-core";
import { authFromConfig, createRelay, loadConfig, type RunningRelay } from "@pubsubbud/relay-node";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { openRaw, type RawPeer, rawClientId } from "../helpers/raw.js";
import { startWorker } from "../helpers/workerd.js";

const secret = "a-test-secret-that-is-long-enough-for-hs256";
const rsa = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const everything = { "*": { subscribe: ["*"], publish: ["*"] } };
const hs = (options: Partial<Parameters<typeof createToken>[0]> = {}) =>
  createToken({
    key: { alg: "HS256", secret },
    grants: everything,
    audience: "chat-app",
    ...options,
  });

async function relayWith(limits: Partial<RelayLimits> = {}): Promise<RunningRelay> {
  return createRelay({
    authenticate: createJwtAuth({
      keys: [
        { alg: "HS256", secret },
        { alg: "RS256", publicKey: rsa.publicKey },
      ],
      audience: "chat-app",
    }),
    allowedOrigins: ["https://app.example.com"],
    limits,
    sweepIntervalMs: 50,
  }).listen({ port: 0 });
}

/** A peer that said hello with `token` and got its welcome (or its refusal). */
async function connect(
  relay: RunningRelay,
  token: string | undefined,
  ns = "chat",
  client = rawClientId("auth"),
) {
  const peer = await openRaw(`${relay.wsUrl}/ns/${ns}`);
  peer.send({ type: "hello", client, ...(token === undefined ? {} : { token }) });
  const first = await peer.next((f) => f.type === "welcome" || f.type === "error", "welcome");
  const inbox = first.type === "welcome" ? first.inbox : "";
  return { peer, client, inbox };
}

async function refusal(relay: RunningRelay, token: string | undefined) {
  const { peer } = await connect(relay, token);
  const error = peer.frames.find((f) => f.type === "error");
  return { error, closed: await peer.closed };
}

describe("JWT connection tokens", () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await relayWith();
  });
  afterAll(() => relay.close());

  it("accepts a valid HS256 token and a valid RS256 token", async () => {
    for (const token of [
      await hs({ user: "alice" }),
      await createToken({
        key: { alg: "RS256", privateKey: rsa.privateKey },
        grants: everything,
        audience: "chat-app",
      }),
    ]) {
      const { peer } = await connect(relay, token);
      expect(peer.frames[0]?.type).toBe("welcome");
      peer.close();
    }
  });

  it("refuses a connection without a token (anonymous is off)", async () => {
    const { error, closed } = await refusal(relay, undefined);
    expect(error).toMatchObject({ code: "unauthorized", message: /token is required/ });
    expect(closed.code).toBe(4401);
  });

  it("refuses alg:none, key confusion, a forged signature, expiry and a foreign audience", async () => {
    const header = (h: object) => Buffer.from(JSON.stringify(h)).toString("base64url");
    const claims = Buffer.from(
      JSON.stringify({
        aud: "chat-app",
        exp: Math.floor(Date.now() / 1000) + 600,
        pubsubbud: everything,
      }),
    ).toString("base64url");
    const attacks: Array<[string, string, RegExp]> = [
      ["alg none", `${header({ alg: "none" })}.${claims}.`, /no key accepts alg none/],
      [
        // HS256 signed with the RSA public key as the HMAC secret: the classic confusion attack.
        "key confusion",
        await new SignJWT({ pubsubbud: everything })
          .setProtectedHeader({ alg: "HS256" })
          .setAudience("chat-app")
          .setExpirationTime("10m")
          .sign(new TextEncoder().encode(rsa.publicKey)),
        /signature is invalid/,
      ],
      [
        "another secret",
        await createToken({
          key: { alg: "HS256", secret: "another-secret-that-is-also-long-enough!!" },
          grants: everything,
          audience: "chat-app",
        }),
        /signature is invalid/,
      ],
      ["expired", await hs({ expiresInSeconds: -60 }), /expired/],
      ["foreign audience", await hs({ audience: "other-app" }), /aud claim/],
      [
        "no exp",
        await new SignJWT({ pubsubbud: everything })
          .setProtectedHeader({ alg: "HS256" })
          .setAudience("chat-app")
          .sign(new TextEncoder().encode(secret)),
        /exp claim|invalid/,
      ],
      ["not a JWT", "garbage", /not a JWT/],
    ];
    for (const [name, token, reason] of attacks) {
      const { error, closed } = await refusal(relay, token);
      expect(error, name).toMatchObject({ code: "unauthorized", message: reason });
      expect(closed.code, name).toBe(4401);
    }
  });
});

describe("grants", () => {
  let relay: RunningRelay;
  let publisher: RawPeer;
  const room1 = { chat: { subscribe: ["chat.room1.*"], publish: ["chat.room1.*"] } };
  beforeAll(async () => {
    relay = await relayWith();
    ({ peer: publisher } = await connect(relay, await hs({ user: "admin" })));
  });
  afterAll(() => relay.close());

  const publish = async (peer: RawPeer, id: string, channel: string, headers?: object) => {
    const from = peer.frames.length;
    peer.send({ type: "publish", id, channel, data: id, ...(headers ? { headers } : {}) });
    return peer.next((f) => "id" in f && f.id === id, `answer to ${id}`, from);
  };

  it("filters every delivery and replay by the subscribe grants, whatever the pattern", async () => {
    const { peer } = await connect(relay, await hs({ user: "bob", grants: room1 }));
    for (const pattern of ["*", "chat.*", "*room2*", "[a-z]*"])
      peer.send({ type: "subscribe", id: pattern, pattern });
    await peer.next((f) => f.type === "subscribed" && f.id === "[a-z]*", "subscribed");
    for (const [id, channel] of [
      ["m1", "chat.room2.x"],
      ["m2", "admin.secrets"],
      ["m3", "chat.room1.x"],
    ])
      await publish(publisher, id as string, channel as string);
    await peer.next((f) => f.type === "message" && f.id === "m3", "the granted message");
    const messages = () => peer.frames.filter((f) => f.type === "message").map((f) => f.id);
    expect(messages()).toEqual(["m3"]);

    // Resume from before those publishes: the replay is filtered the same way.
    const welcome = peer.frames.find((f) => f.type === "welcome");
    if (welcome?.type !== "welcome") throw new Error("no welcome");
    peer.close();
    const again = await openRaw(`${relay.wsUrl}/ns/chat`);
    again.send({
      type: "hello",
      client: rawClientId("resume"),
      token: await hs({ user: "bob", grants: room1 }),
      resume: { epoch: welcome.epoch, offset: welcome.offset },
      subscriptions: [{ id: "all", pattern: "*" }],
    });
    await again.next((f) => f.type === "message" && f.id === "m3", "the replayed granted message");
    expect(again.frames.filter((f) => f.type === "message").map((f) => f.id)).toEqual(["m3"]);
    again.close();
  });

  it("refuses an exact subscription and a publish outside the grants", async () => {
    const { peer } = await connect(relay, await hs({ user: "bob", grants: room1 }));
    peer.send({ type: "subscribe", id: "s", pattern: "admin.secrets" });
    expect(await peer.next((f) => "id" in f && f.id === "s", "answer")).toMatchObject({
      type: "error",
      code: "forbidden",
    });
    expect(await publish(peer, "p-out", "chat.room2.x")).toMatchObject({
      type: "error",
      code: "forbidden",
    });
    expect(await publish(peer, "p-in", "chat.room1.x")).toMatchObject({ type: "ack" });
    peer.close();
  });

  it("keeps a private inbox to its owner", async () => {
    const { peer: ownerPeer, inbox } = await connect(relay, await hs({ user: "a" }));
    const { peer: thief } = await connect(relay, await hs({ user: "b" }));
    for (const pattern of [inbox, "_inbox.*", "*"])
      thief.send({ type: "subscribe", id: pattern, pattern });
    await thief.next((f) => "id" in f && f.id === "*", "the last answer");
    expect(
      thief.frames.filter((f) => f.type === "error").map((f) => "code" in f && f.code),
    ).toEqual(["forbidden", "forbidden"]);
    ownerPeer.send({ type: "subscribe", id: "inbox", pattern: inbox });
    await ownerPeer.next((f) => f.type === "subscribed", "owner subscribed");
    await publish(publisher, "secret-reply", inbox);
    await ownerPeer.next((f) => f.type === "message" && f.id === "secret-reply", "the reply");
    expect(thief.frames.some((f) => f.type === "message")).toBe(false);
    ownerPeer.close();
    thief.close();
  });

  it("does not let the public inbox name, or even a leaked client id under another user's token, claim an inbox or its replays", async () => {
    const alice = await connect(relay, await hs({ user: "alice" }));
    alice.peer.send({ type: "subscribe", id: "inbox", pattern: alice.inbox });
    await alice.peer.next((f) => f.type === "subscribed", "alice subscribed");
    // A request of Alice's shows her inbox to every responder as reply-to; a reply lands in it.
    await publish(publisher, "reply-1", alice.inbox);
    await alice.peer.next((f) => f.type === "message" && f.id === "reply-1", "alice's reply");
    expect(alice.inbox).toMatch(/^_inbox\.[A-Za-z0-9_-]{22}$/);
    expect(alice.inbox).not.toContain(alice.client);
    // Bob says hello with what he saw (the inbox name's suffix), then with Alice's leaked secret
    // id under his own token, and resumes from the start of the log each time.
    for (const client of [alice.inbox.slice("_inbox.".length), alice.client]) {
      const bob = await connect(relay, await hs({ user: "bob" }), "chat", client);
      expect(bob.inbox).not.toBe(alice.inbox);
      const welcome = bob.peer.frames[0];
      const epoch = welcome?.type === "welcome" ? welcome.epoch : "";
      bob.peer.send({ type: "subscribe", id: "steal", pattern: alice.inbox });
      const answer = await bob.peer.next((f) => "id" in f && f.id === "steal", "answer");
      expect(answer).toMatchObject({ type: "error", code: "forbidden" });
      bob.peer.close();
      const resumed = await openRaw(`${relay.wsUrl}/ns/chat`);
      resumed.send({
        type: "hello",
        client,
        token: await hs({ user: "bob" }),
        resume: { epoch, offset: "" },
        subscriptions: [{ id: "steal", pattern: alice.inbox }],
      });
      await resumed.next((f) => "id" in f && f.id === "steal", "answer in the resume");
      expect(resumed.frames[0]).toMatchObject({ type: "welcome", recovered: true });
      expect(resumed.frames.find((f) => "id" in f && f.id === "steal")).toMatchObject({
        code: "forbidden",
      });
      expect(resumed.frames.some((f) => f.type === "message" && f.id === "reply-1")).toBe(false);
      resumed.close();
    }
    alice.peer.close();
  });

  it("refuses inbox publishes from a token with no publish grant in the namespace", async () => {
    const { peer: owner, inbox } = await connect(relay, await hs({ user: "owner" }));
    owner.send({ type: "subscribe", id: "inbox", pattern: inbox });
    await owner.next((f) => f.type === "subscribed", "subscribed");
    const { peer: nobody } = await connect(relay, await hs({ user: "nobody", grants: {} }));
    expect(await publish(nobody, "spam", inbox)).toMatchObject({
      type: "error",
      code: "forbidden",
    });
    expect(await publish(nobody, "spam2", "_inbox.fresh-namespace-filler")).toMatchObject({
      type: "error",
      code: "forbidden",
    });
    await publish(publisher, "real", inbox);
    await owner.next((f) => f.type === "message" && f.id === "real", "the granted reply");
    expect(owner.frames.filter((f) => f.type === "message").map((f) => "id" in f && f.id)).toEqual([
      "real",
    ]);
    owner.close();
    nobody.close();
  });

  it("stamps the sender from the token and ignores the one the client sends", async () => {
    const { peer } = await connect(relay, await hs({ user: "mallory" }));
    peer.send({ type: "subscribe", id: "s", pattern: "chat.room1.*" });
    await peer.next((f) => f.type === "subscribed", "subscribed");
    await publish(peer, "forged", "chat.room1.x", { sender: "alice", trace: "t1" });
    const message = await peer.next((f) => f.type === "message" && f.id === "forged", "message");
    expect(message).toMatchObject({ headers: { sender: "mallory", trace: "t1" } });
    peer.close();
  });

  it("holds HTTP publishes to the same tokens and grants", async () => {
    const post = (token: string | undefined, channel: string) =>
      fetch(`${relay.url}/v1/ns/chat/publish`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ channel, data: 1, headers: { sender: "forged" } }),
      });
    expect((await post(undefined, "chat.room1.x")).status).toBe(401);
    expect((await post(await hs({ expiresInSeconds: -60 }), "chat.room1.x")).status).toBe(401);
    const bob = await hs({ user: "bob", grants: room1 });
    const refused = await post(bob, "admin.x");
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: "forbidden" });
    const { peer } = await connect(relay, await hs({ user: "reader" }));
    peer.send({ type: "subscribe", id: "s", pattern: "chat.room1.*" });
    await peer.next((f) => f.type === "subscribed", "subscribed");
    expect((await post(bob, "chat.room1.x")).status).toBe(200);
    const message = await peer.next((f) => f.type === "message", "the HTTP publish");
    expect(message).toMatchObject({ headers: { sender: "bob" } });
    peer.close();
  });
});

describe("token lifecycle on the relay", () => {
  it("closes a connection whose token expired past the grace, and keeps one that refreshed", async () => {
    await using relay = await relayWith({ tokenGraceMs: 100 });
    const short = () => hs({ user: "carol", expiresInSeconds: 2 });
    const { peer: lapsed } = await connect(relay, await short());
    const { peer: refreshed } = await connect(relay, await short());
    refreshed.send({ type: "subscribe", id: "s", pattern: "*" });
    refreshed.send({ type: "refresh", token: await hs({ user: "carol", expiresInSeconds: 600 }) });
    await refreshed.next((f) => f.type === "refreshed", "refreshed");
    const closed = await lapsed.closed;
    expect(closed.code).toBe(4401);
    expect(lapsed.frames.at(-1)).toMatchObject({ code: "unauthorized", message: /expired/ });
    // The refreshed connection still has its subscription after the first token's expiry.
    const { peer: publisher } = await connect(relay, await hs({ user: "pub" }));
    publisher.send({ type: "publish", id: "after", channel: "chat.x", data: 1 });
    await refreshed.next((f) => f.type === "message" && f.id === "after", "delivery after expiry");
    // Another user's token cannot take over the connection.
    const from = refreshed.frames.length;
    refreshed.send({ type: "refresh", token: await hs({ user: "mallory" }) });
    expect(await refreshed.next((f) => f.type === "error", "refusal", from)).toMatchObject({
      code: "unauthorized",
      message: /another user/,
    });
    refreshed.close();
    publisher.close();
  });
});

describe("origin allowlist", () => {
  it("lets the allowed origin and non-browser clients in, and refuses look-alikes before the upgrade", async () => {
    await using relay = await relayWith();
    const attempt = (origin?: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${relay.wsUrl}/ns/chat`, SUBPROTOCOL, origin ? { origin } : {});
        ws.on("open", () => {
          ws.close();
          resolve(101);
        });
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.on("error", () => {});
      });
    expect(await attempt("https://app.example.com")).toBe(101);
    expect(await attempt("HTTPS://APP.EXAMPLE.COM")).toBe(101);
    expect(await attempt()).toBe(101);
    for (const origin of [
      "https://app.example.com.evil.com",
      "https://evil.com",
      "http://app.example.com",
      "https://app.example.com:8443",
      "https://evilapp.example.com",
      "null",
    ])
      expect(await attempt(origin), origin).toBe(403);
  });
});

describe("relay reachable from elsewhere", () => {
  it("refuses to start without auth on a non-loopback host", async () => {
    const open = loadConfig({ env: { PUBSUBBUD_HOST: "0.0.0.0" } });
    expect(() => authFromConfig(open)).toThrow(/no auth: set PUBSUBBUD_JWT_SECRET/);
    expect(authFromConfig(loadConfig({ env: {} }))).toBeUndefined();
    const anonymous = loadConfig({
      env: { PUBSUBBUD_HOST: "0.0.0.0", PUBSUBBUD_ANONYMOUS: "all" },
    });
    expect(authFromConfig(anonymous)).toBeTypeOf("function");
    expect(() => loadConfig({ env: { PUBSUBBUD_JWT_SECRET: "short" } })).toThrow(/auth\.jwt\.keys/);
  });
});

describe("pubsubbud token", () => {
  it("mints a development token the relay accepts, with the grants asked for", async () => {
    const cli = fileURLToPath(new URL("../../packages/relay-node/dist/cli.js", import.meta.url));
    const run = (args: string[], env: Record<string, string>) =>
      execFileSync(process.execPath, [cli, "token", ...args], {
        env: { ...process.env, ...env },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      }).trim();
    const token = run(
      [
        "--user",
        "dave",
        "--grant",
        "chat:subscribe:chat.*",
        "--grant",
        "chat:publish:chat.dave.*",
        "--audience",
        "chat-app",
      ],
      { PUBSUBBUD_JWT_SECRET: secret },
    );
    const identity = await createJwtAuth({
      keys: [{ alg: "HS256", secret }],
      audience: "chat-app",
    })({
      token,
      namespace: "chat",
      client: "c",
    });
    expect(identity).toMatchObject({
      user: "dave",
      grants: { subscribe: ["chat.*"], publish: ["chat.dave.*"] },
    });
    expect(() => run(["--grant", "chat:read:x"], { PUBSUBBUD_JWT_SECRET: secret })).toThrow(
      /must be <namespace\|\*>:<subscribe\|publish>:<pattern>/,
    );
    expect(() => run([], { PUBSUBBUD_JWT_SECRET: "" })).toThrow(/set PUBSUBBUD_JWT_SECRET/);
  });
});

describe("relay-worker in workerd: the same auth from its vars", () => {
  /** The Worker with these vars, its port as `url.port` (as `worker.ready` gives it). */
  const start = (bindings: Record<string, string>) => {
    const started = startWorker(bindings);
    return {
      ready: started.then(({ port }) => ({ port: String(port) })),
      dispose: () => started.then(({ worker }) => worker.dispose()),
    };
  };

  it("refuses everyone when no auth is configured, saying what to set", async () => {
    const worker = start({});
    try {
      const url = await worker.ready;
      const peer = await openRaw(`ws://127.0.0.1:${url.port}/ns/chat`);
      peer.send({ type: "hello", client: rawClientId("w") });
      expect(await peer.next((f) => f.type === "error", "refusal")).toMatchObject({
        code: "unauthorized",
        message: /no auth configured: set the JWT_SECRET secret/,
      });
      expect((await peer.closed).code).toBe(4401);
    } finally {
      await worker.dispose();
    }
  });

  it("enforces JWT_SECRET tokens, their grants and ALLOWED_ORIGINS", async () => {
    const worker = start({
      JWT_SECRET: secret,
      JWT_AUDIENCE: "chat-app",
      ALLOWED_ORIGINS: "https://app.example.com",
    });
    try {
      const url = await worker.ready;
      const base = `ws://127.0.0.1:${url.port}/ns/chat`;
      const hello = async (token: string) => {
        const peer = await openRaw(base);
        peer.send({ type: "hello", client: rawClientId("w"), token });
        await peer.next((f) => f.type === "welcome" || f.type === "error", "welcome or error");
        return peer;
      };
      const expired = await hello(await hs({ expiresInSeconds: -60 }));
      expect((await expired.closed).code).toBe(4401);
      const reader = await hello(
        await hs({ user: "bob", grants: { chat: { subscribe: ["chat.room1.*"], publish: [] } } }),
      );
      reader.send({ type: "subscribe", id: "all", pattern: "*" });
      await reader.next((f) => f.type === "subscribed", "subscribed");
      reader.send({ type: "publish", id: "nope", channel: "chat.room1.x", data: 1 });
      expect(await reader.next((f) => "id" in f && f.id === "nope", "refusal")).toMatchObject({
        code: "forbidden",
      });
      const writer = await hello(await hs({ user: "admin" }));
      for (const [id, channel] of [
        ["w1", "chat.room2.x"],
        ["w2", "chat.room1.x"],
      ] as const)
        writer.send({ type: "publish", id, channel, data: id });
      const message = await reader.next((f) => f.type === "message", "the granted message");
      expect(message).toMatchObject({ id: "w2", headers: { sender: "admin" } });
      expect(reader.frames.filter((f) => f.type === "message")).toHaveLength(1);
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(base, SUBPROTOCOL, { origin: "https://app.example.com.evil.com" });
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.on("open", () => resolve(101));
        ws.on("error", () => {});
      });
      expect(status).toBe(403);
      reader.close();
      writer.close();
    } finally {
      await worker.dispose();
    }
  });
});

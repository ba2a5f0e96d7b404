/**
 * The client's token lifecycle against a real relay-node with JWT auth: renewal ahead of expiry
 * over the open connection, one more chance after an unrenewed expiry, and a final
 * `unauthorized` state instead of a retry loop when the relay keeps refusing.
 */
import { randomUUID } from "node:crypto";
import { type ClientState, createClient, type PubsubBudClient } from "@pubsubbud/client";
import { type Authenticate, createJwtAuth, createToken } from "@pubsubbud/relay-core";
import { createRelay, type RunningRelay } from "@pubsubbud/relay-node";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { waitFor } from "../helpers/wait.js";

const secret = "a-test-secret-that-is-long-enough-for-hs256";
const grants = { "*": { subscribe: ["*"], publish: ["*"] } };
/** A token valid for 1 to 2 seconds (JWT `exp` has whole seconds). */
const shortToken = (user = "alice") =>
  createToken({ key: { alg: "HS256", secret }, grants, user, expiresInSeconds: 2 });
/** A token signed with the wrong key, unique on every call. */
const forged = () =>
  new SignJWT({ pubsubbud: grants, jti: randomUUID() })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode("not-the-relays-secret-but-long-enough!!"));

let relay: RunningRelay;
/** Every token the relay was asked to check, in order. */
const presented: string[] = [];
beforeAll(async () => {
  const jwt = createJwtAuth({ keys: [{ alg: "HS256", secret }] });
  const authenticate: Authenticate = (request) => {
    presented.push(request.token ?? "");
    return jwt(request);
  };
  // No grace: a token that is not renewed in time closes its connection at once.
  relay = await createRelay({
    authenticate,
    limits: { tokenGraceMs: 0 },
    sweepIntervalMs: 50,
  }).listen({
    port: 0,
  });
});
afterAll(() => relay.close());

const clients: PubsubBudClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  presented.length = 0;
});

function connect(token: Parameters<typeof createClient>[0]["token"]) {
  const client = createClient({
    url: `${relay.wsUrl}/ns/chat`,
    WebSocket,
    token,
    reconnect: { baseDelayMs: 10, maxDelayMs: 50 },
  });
  clients.push(client);
  const states: Array<{ state: ClientState; code?: number }> = [];
  const errors: Array<{ code?: string; message: string }> = [];
  client.addEventListener("state", (e) =>
    states.push({ state: e.detail.state, code: e.detail.code }),
  );
  client.addEventListener("error", (e) =>
    errors.push({ code: (e.detail as { code?: string }).code, message: e.detail.message }),
  );
  return { client, states, errors };
}

describe("client token lifecycle", () => {
  it("renews a short-lived token in-band before it expires, keeping the connection and its subscriptions", async () => {
    let calls = 0;
    const { client, states } = connect(() => {
      calls++;
      return shortToken();
    });
    const received: unknown[] = [];
    await client.subscribe("news.*", (m) => void received.push(m.data)).ready;
    // Four tokens at the relay, of at most 2 s each: the first expired long ago, with no grace.
    await waitFor(() => presented.length >= 4, "four tokens at the relay", 15_000);
    await client.publish("news.today", "still here");
    await waitFor(() => received.includes("still here"), "the message on the old subscription");
    expect(states).toEqual([{ state: "open", code: undefined }]);
    // One hello, then every renewal over the same connection (no reconnect above), each from
    // its own call of the token function.
    expect(calls).toBeGreaterThanOrEqual(presented.length);
  });

  it("asks the token function once more after an expiry it could not renew, then resubscribes", async () => {
    let calls = 0;
    const { client, states, errors } = connect(async () => {
      calls++;
      // The auth backend is down at renewal time: the token expires unrenewed.
      if (calls === 2) throw new Error("auth backend unreachable");
      return shortToken();
    });
    const received: unknown[] = [];
    await client.subscribe("news.*", (m) => void received.push(m.data)).ready;
    await waitFor(
      () => states.some((s) => s.state === "reconnecting" && s.code === 4401),
      "the expiry close",
      15_000,
    );
    await waitFor(() => client.state === "open", "the reconnect with a fresh token");
    await client.publish("news.today", "back");
    await waitFor(() => received.includes("back"), "the message after resubscribing");
    // The failed renewal, then the fresh token after 4401 (a later renewal may follow).
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(errors.map((e) => e.code)).toEqual(["unauthorized"]);
    expect(errors[0]?.message).toMatch(/token function failed/);
  });

  it("ends in state unauthorized when a static token is refused, rejecting what waits", async () => {
    const { client, states, errors } = connect(await forged());
    const published = client.publish("news.today", 1).catch((error: unknown) => error);
    await waitFor(() => client.state === "unauthorized", "the unauthorized state");
    expect(await published).toMatchObject({ code: "unauthorized" });
    await expect(client.publish("news.today", 2)).rejects.toMatchObject({ code: "unauthorized" });
    expect(states.map((s) => s.state)).toEqual(["unauthorized"]);
    expect(errors.map((e) => e.code)).toEqual(["unauthorized"]);
    expect(presented).toHaveLength(1);
  });

  it("gives a token function one more try after a refusal, then stops instead of looping", async () => {
    let calls = 0;
    const { client, states } = connect(() => {
      calls++;
      return forged();
    });
    await waitFor(() => client.state === "unauthorized", "the unauthorized state");
    expect(calls).toBe(2);
    expect(presented).toHaveLength(2);
    expect(states.at(-1)).toMatchObject({ state: "unauthorized", code: 4401 });
  });

  it("never sends again a token the relay refused, even when the function returns it", async () => {
    const bad = await forged();
    let calls = 0;
    const { client } = connect(() => {
      calls++;
      return bad;
    });
    await waitFor(() => client.state === "unauthorized", "the unauthorized state");
    expect(calls).toBe(2);
    expect(presented).toEqual([bad]);
  });

  it("reports a refused refresh and keeps the connection until the old token runs out", async () => {
    let calls = 0;
    const { client, states, errors } = connect(() => {
      calls++;
      // The renewal is for another user (refused in-band), then only forgeries come.
      if (calls === 1) return shortToken("alice");
      return calls === 2 ? shortToken("mallory") : forged();
    });
    await waitFor(() => client.state === "open", "open");
    await waitFor(() => errors.length > 0, "the refused refresh", 15_000);
    expect(errors[0]).toMatchObject({ code: "unauthorized" });
    expect(errors[0]?.message).toMatch(/refused the refreshed token: .*another user/);
    await waitFor(() => client.state === "unauthorized", "the final state", 15_000);
    expect(states.map((s) => s.state)).toEqual(["open", "reconnecting", "unauthorized"]);
  });
});

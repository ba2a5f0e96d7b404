// The example of docs/testing.md: copy it next to your code and change the imports.
import { collect, createTestRelay, FakeClock } from "@pubsubbud/client/testing";
import { afterAll, afterEach, expect, it } from "vitest";
import { chatRoom } from "./chat.js";

const relay = createTestRelay();
afterEach(() => relay.drop()); // no connection outlives its test
afterAll(() => relay.close());

it("shows what others say", async () => {
  await using alice = relay.connect();
  const bob = relay.connect();
  const room = chatRoom(alice, "lobby");
  const seen = collect(bob, "chat.lobby"); // a witness: resolves when the message went through
  await seen.ready;
  await chatRoom(bob, "lobby").say("bob", "hi");
  await seen.next();
  await relay.settle();
  expect(room.lines).toEqual(["bob: hi"]);
  bob.close();
});

it("keeps every line across a dropped connection", async () => {
  const alice = relay.connect();
  const room = chatRoom(alice, "ops");
  await relay.waitForFrame((f) => f.client === alice.id && f.frame.type === "subscribed");
  relay.offline(true);
  relay.drop(alice); // the network fails; the relay keeps the lines said meanwhile
  await relay.publish("chat.ops", { from: "bot", text: "deploy started" });
  relay.offline(false);
  await relay.waitForFrame((f) => f.client === alice.id && f.frame.type === "message");
  await relay.settle();
  expect(room.lines).toEqual(["bot: deploy started"]); // replayed on reconnect, no gap
  alice.close();
});

it("times out a publish on a dead link, without waiting 30 real seconds", async () => {
  const clock = new FakeClock().install();
  try {
    const alice = relay.connect();
    await relay.waitForFrame((f) => f.client === alice.id && f.frame.type === "welcome");
    relay.freeze(alice); // no close, no answers: a dead NAT
    const said = chatRoom(alice, "lobby")
      .say("alice", "anyone?")
      .catch((error) => error);
    await clock.tick(30_000);
    expect(await said).toMatchObject({ code: "publish_timeout" });
    alice.close();
  } finally {
    clock.uninstall();
  }
});

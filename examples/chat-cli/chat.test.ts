import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { startRelay } from "@pubsubbud/relay-node";
import { afterEach, describe, expect, it } from "vitest";

const CHAT = fileURLToPath(new URL("./chat.mjs", import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

function chat(name: string, url: string) {
  const child = spawn(process.execPath, [CHAT, "--name", name, "--url", url], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stdout.on("data", (chunk) => (out += chunk));
  return {
    child,
    say: (line: string) => child.stdin.write(`${line}\n`),
    async waitFor(text: string) {
      while (!out.includes(text)) {
        if (child.exitCode !== null) throw new Error(`chat ${name} exited: ${out}`);
        await once(child.stdout, "data");
      }
      return out;
    },
  };
}

describe("examples/chat-cli", () => {
  it("lets two terminals chat through the relay", async () => {
    await using relay = await startRelay({ port: 0 });
    const alice = chat("alice", relay.wsUrl);
    const bob = chat("bob", relay.wsUrl);
    await alice.waitFor("joined #lobby as alice");
    await bob.waitFor("joined #lobby as bob");
    alice.say("hi bob");
    await bob.waitFor("alice: hi bob");
    bob.say("hello alice");
    const aliceSaw = await alice.waitFor("bob: hello alice");
    expect(aliceSaw).not.toContain("alice: hi bob");
    alice.say("/quit");
    const [code] = await once(alice.child, "exit");
    expect(code).toBe(0);
  });

  it("says where it connects, why it waits while no relay answers, and joins once one does", async () => {
    // Reserve a free port, then leave it closed until the chat is waiting on it.
    const probe = await startRelay({ port: 0 });
    const { port } = probe;
    await probe.close();
    const url = `ws://127.0.0.1:${port}`;
    const carol = chat("carol", url);
    await carol.waitFor(`* connecting to ${url}…`);
    const waiting = await carol.waitFor(`* no relay answers at ${url} yet: start one with`);
    expect(waiting).not.toContain("joined");
    await using relay = await startRelay({ port });
    expect(relay.port).toBe(port);
    await carol.waitFor("joined #lobby as carol");
  });
});

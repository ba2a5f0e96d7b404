import type { PubsubBudClient } from "@pubsubbud/client";

/** The code under test: a tiny chat room on top of the client. */
export function chatRoom(client: PubsubBudClient, room: string) {
  const lines: string[] = [];
  client.subscribe<{ from: string; text: string }>(`chat.${room}`, (msg) => {
    lines.push(`${msg.data.from}: ${msg.data.text}`);
  });
  client.addEventListener("gap", () => lines.push("(some messages may be missing)"));
  return {
    lines,
    say: (from: string, text: string) => client.publish(`chat.${room}`, { from, text }),
  };
}

import { createClient, request, serve } from "@pubsubbud/client";
import { describe, expect, inject, it } from "vitest";

// The isomorphic client inside workerd, on workerd's own global WebSocket, against a relay-node
// started in Node by test-setup/relay.ts.
describe("@pubsubbud/client inside workerd", () => {
  it("subscribes with a pattern, publishes and gets a request answered", async () => {
    const url = inject("relayNodeUrl");
    const worker = createClient({ url });
    const peer = createClient({ url });
    try {
      const got: unknown[] = [];
      await worker.subscribe("edge.*", (m) => void got.push([m.channel, m.data])).ready;
      await serve(peer, "edge.rpc.*", (req) => ({ doubled: (req.data as number) * 2 })).ready;
      const ack = await worker.publish("edge.hello", { from: "workerd" });
      expect(ack.offset).not.toBe("");
      const answer = await request(worker, "edge.rpc.double", 21, { timeout: 5000 });
      expect(answer.data).toEqual({ doubled: 42 });
      for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
      expect(got[0]).toEqual(["edge.hello", { from: "workerd" }]);
    } finally {
      worker.close();
      peer.close();
    }
  });
});

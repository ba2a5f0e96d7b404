// Heap bytes one relay-core session costs (no sockets): node --expose-gc bench/micro/session-memory.mjs
import { createMemoryBroker, createRelayCore } from "@pubsubbud/relay-core";

const core = createRelayCore({ broker: createMemoryBroker() });
const transport = { send() {}, close() {}, bufferedAmount: () => 0 };
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
globalThis.gc();
const before = process.memoryUsage().heapUsed;
const N = 2000;
const keep = [];
for (let i = 0; i < N; i++) {
  const connection = core.accept({ namespace: "default", transport });
  connection.receive(
    JSON.stringify({
      type: "hello",
      client: `client-${i}-abcdefgh`,
      subscriptions: [{ id: "s1", pattern: `user.${i}` }],
    }),
  );
  keep.push(connection);
}
await settle();
globalThis.gc();
console.log("heap bytes per session:", Math.round((process.memoryUsage().heapUsed - before) / N));

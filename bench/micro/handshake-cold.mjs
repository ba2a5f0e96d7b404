// relay-core's cost of a fresh process's first connections, the reconnect storm after a restart:
// 2,000 hellos, each with its subscription (as @pubsubbud/client sends them), answered, no socket.
// node bench/micro/handshake-cold.mjs [connections]   (after npm run build; run it a few times)
import { createMemoryBroker, createRelayCore } from "@pubsubbud/relay-core";

const core = createRelayCore({
  broker: createMemoryBroker(),
  scheduleFlush: (flush) => setImmediate(flush),
});
const N = Number(process.argv[2] ?? 2000);
const start = process.cpuUsage();
let answered = 0;
await new Promise((resolve) => {
  for (let i = 0; i < N; i++) {
    const transport = {
      send: (text) => text.includes("subscribed") && ++answered === N && resolve(),
      close() {},
      bufferedAmount: () => 0,
    };
    const connection = core.accept({ namespace: "default", remote: "1.2.3.4", transport });
    connection.receive(
      `{"type":"hello","client":"bench-${i}-xxxxxxxxxxxx","subscriptions":[{"id":"s1","pattern":"user.${i}"}]}`,
    );
  }
});
const used = process.cpuUsage(start);
console.log(
  `relay-core µs per connection, first ${N} of a fresh process (hello with its subscription):`,
  ((used.user + used.system) / N).toFixed(1),
);
process.exit(0);

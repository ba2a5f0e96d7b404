// relay-core's own cost of a connection: a hello carrying its subscription (as @pubsubbud/client
// sends it), answered, no socket. node bench/micro/handshake.mjs [connections] [rounds]
// (after npm run build): 20,000 connections a round, 4 rounds by default; the first round
// includes the JIT's warm-up. `handshake.mjs 2000 1` is a fresh process's first connections,
// the reconnect storm after a restart (run it a few times: single runs move ±20%).
import { createMemoryBroker, createRelayCore } from "@pubsubbud/relay-core";

const core = createRelayCore({
  broker: createMemoryBroker(),
  scheduleFlush: (flush) => setImmediate(flush),
});
// One connection first, so the namespace's broker feed runs, as it does after a relay's first
// connection: every measured hello arrives on a namespace already listened to.
const first = core.accept({
  namespace: "default",
  transport: { send() {}, close() {}, bufferedAmount: () => 0 },
});
first.receive('{"type":"hello","client":"bench-first-xxxxxxxx"}');
await new Promise((resolve) => setTimeout(resolve, 10));
const N = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 4);
for (let round = 0; round < rounds; round++) {
  const start = process.cpuUsage();
  const connections = [];
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
      connections.push(connection);
    }
  });
  const used = process.cpuUsage(start);
  console.log(
    `relay-core µs per connection (hello with its subscription, ${N} at a time):`,
    ((used.user + used.system) / N).toFixed(1),
  );
  for (const connection of connections) connection.closed();
}
process.exit(0);

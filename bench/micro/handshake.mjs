// relay-core's own cost of a connection: hello + one subscribe, answered, no socket (20,000 at a time):
// node bench/micro/handshake.mjs   (after npm run build). The first round includes warm-up.
import { createRelayCore, createMemoryBroker } from "@pubsubbud/relay-core";
const core = createRelayCore({
  broker: createMemoryBroker(),
  scheduleFlush: (f) => setImmediate(f),
});
const N = 20000;
for (let rep = 0; rep < 4; rep++) {
  const t0 = process.cpuUsage();
  const conns = [];
  let acked = 0;
  await new Promise((resolve) => {
    for (let i = 0; i < N; i++) {
      const transport = {
        send: (text) => text.includes("subscribed") && ++acked === N && resolve(),
        close() {},
        bufferedAmount: () => 0,
      };
      const c = core.accept({ namespace: "default", remote: "1.2.3.4", transport });
      c.receive(`{"type":"hello","client":"bench-${i}-xxxxxxxxxxxx"}`);
      c.receive(`{"type":"subscribe","id":"s1","pattern":"user.${i}"}`);
      conns.push(c);
    }
  });
  const u = process.cpuUsage(t0);
  console.log(
    "relay-core µs per connection (hello + subscribe, no socket):",
    ((u.user + u.system) / N).toFixed(1),
  );
  for (const c of conns) c.closed();
}
process.exit(0);

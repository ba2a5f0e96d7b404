// JS-only cost of one publish + one delivery through relay-core (no sockets): node bench/micro/publish-path.mjs
// With --alloc it also prints the bytes allocated per publish + delivery (V8's sampling heap
// profiler, counting what the collector freed too): a steadier figure than CPU time on a busy
// machine, and garbage is much of the path's cost.
import { Session } from "node:inspector/promises";
import { createRelayCore, createMemoryBroker } from "@pubsubbud/relay-core";
const core = createRelayCore({
  broker: createMemoryBroker(),
  scheduleFlush: setImmediate,
  // One publisher sends them all: the per-connection flood limiter (docs/security.md) is lifted.
  limits: { publishRatePerSecond: 1e9, publishBurst: 1e9 },
});
let sends = 0;
const mk = () =>
  core.accept({
    namespace: "default",
    transport: { send: () => sends++, close() {}, bufferedAmount: () => 0 },
  });
// Kept in an array so the subscribers stay alive for the whole run.
const subscribers = Array.from({ length: 1000 }, (_, i) => {
  const c = mk();
  c.receive(
    JSON.stringify({
      type: "hello",
      client: `client-${i}-xxxx`,
      subscriptions: [{ id: "s", pattern: `user.${i}` }],
    }),
  );
  return c;
});
const pub = mk();
pub.receive(JSON.stringify({ type: "hello", client: "publisher-0001" }));
await new Promise((r) => setTimeout(r, 50));
const N = 100000;
const frames = Array.from({ length: N }, (_, i) =>
  JSON.stringify({
    type: "publish",
    id: `p${i}-abcdefghijklmnop`,
    channel: `user.${i % 1000}`,
    data: { t: 123.456, pad: "x".repeat(64) },
  }),
);
const sampling = process.argv.includes("--alloc") ? new Session() : undefined;
if (sampling) {
  sampling.connect();
  await sampling.post("HeapProfiler.startSampling", {
    samplingInterval: 512,
    includeObjectsCollectedByMinorGC: true,
    includeObjectsCollectedByMajorGC: true,
  });
}
const c0 = process.cpuUsage();
for (let i = 0; i < N; i += 100) {
  for (let j = i; j < i + 100; j++) pub.receive(frames[j]);
  await new Promise((r) => setImmediate(r));
}
const c = process.cpuUsage(c0);
if (sampling) {
  const { profile } = await sampling.post("HeapProfiler.stopSampling");
  const bytes = (node) =>
    node.selfSize + node.children.reduce((sum, child) => sum + bytes(child), 0);
  console.log("bytes allocated per publish+delivery:", Math.round(bytes(profile.head) / N));
}
console.log(
  `${subscribers.length} subscribers; µs per publish+delivery (JS only):`,
  ((c.user + c.system) / N).toFixed(2),
  "sends",
  sends,
);

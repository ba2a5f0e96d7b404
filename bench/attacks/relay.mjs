// The attacked relay of bench workload 8: relay-node with every default (memory broker, limits,
// budgets) on loopback, open as the quick start runs it. Reports its port, then RSS on request.
import { startRelay } from "@pubsubbud/relay-node";

const relay = await startRelay({ port: 0 });
process.send({ type: "ready", port: relay.port });
process.on("message", (msg) => {
  if (msg.type === "probe") process.send({ type: "probe", rss: process.memoryUsage.rss() });
});

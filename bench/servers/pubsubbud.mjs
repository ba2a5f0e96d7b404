// PubsubBud relay-node, defaults otherwise: on the embedded memory broker, or on the broker
// named by PUBSUBBUD_BENCH_BROKER (a URL, as `--broker` takes).
import { createBrokerFromUrl, startRelay } from "@pubsubbud/relay-node";
import { serve } from "./common.mjs";

const url = process.env.PUBSUBBUD_BENCH_BROKER;
const relay = await startRelay({
  port: 0,
  livePage: false,
  // The bench measures delivery from one address: the per-connection flood limiter and the
  // per-address connection bounds (docs/security.md) are lifted.
  limits: { publishRatePerSecond: 1e9, publishBurst: 1e9, maxConnectionsPerIp: 1e9 },
  server: { maxPendingPerIp: 1e9 },
  ...(url ? { broker: await createBrokerFromUrl(url) } : {}),
});
// Slow consumers cut (close 4001), for the slow-consumer workload.
serve(relay.port, () => ({ slowConsumersCut: relay.core.stats().closes[4001] ?? 0 }));

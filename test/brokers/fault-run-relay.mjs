// The publisher's relay of the fault run's filesystem case: a relay process on the shared
// directory, killed with SIGKILL mid-burst and started again on the same port.
import { startRelay } from "@pubsubbud/relay-node";
import { createFileBroker } from "@pubsubbud/relay-node/brokers/file";

const [dir, port, limits] = process.argv.slice(2);
await startRelay({
  port: Number(port),
  host: "127.0.0.1",
  broker: await createFileBroker({ dir }),
  limits: JSON.parse(limits),
});

// A process that starts a durable group's member and closes its broker (not the subscriber), as a
// service shutting down might; run by groups.test.ts, which expects it to exit by itself once the
// broker closed. If something still runs 10 s after the close, it names what and exits with 3.
import { createSubscriber } from "@pubsubbud/relay-node";

const [name, options, namespace, group] = process.argv.slice(2);
const factory = `create${name[0].toUpperCase()}${name.slice(1)}Broker`;
const create = (await import(`@pubsubbud/relay-node/brokers/${name}`))[factory];
const broker = await create(JSON.parse(options));
const subscriber = await createSubscriber({ broker, namespace, group, member: "leaver" });
await subscriber.start();
await broker.close();
console.log("closed");
setTimeout(() => {
  console.log(`still running: ${process.getActiveResourcesInfo().join(", ")}`);
  process.exit(3);
}, 10_000).unref();

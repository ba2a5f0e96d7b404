// A process that starts a durable group's member and closes its broker (not the subscriber), as a
// service shutting down might: once the member `joined`, or while it is still `joining` (its start
// may then fail). Run by groups.test.ts, which expects it to exit by itself once the broker closed;
// if something still runs 10 s after the close, it names what and exits with 3.
import { createSubscriber } from "@pubsubbud/relay-node";

const [name, options, namespace, group, when] = process.argv.slice(2);
const factory = `create${name[0].toUpperCase()}${name.slice(1)}Broker`;
const create = (await import(`@pubsubbud/relay-node/brokers/${name}`))[factory];
const broker = await create(JSON.parse(options));
const subscriber = await createSubscriber({ broker, namespace, group, member: "leaver" });
const starting = subscriber.start();
if (when === "joined") await starting;
else starting.catch(() => {});
await broker.close();
await starting.catch(() => {});
console.log("closed");
setTimeout(() => {
  console.log(`still running: ${process.getActiveResourcesInfo().join(", ")}`);
  process.exit(3);
}, 10_000).unref();

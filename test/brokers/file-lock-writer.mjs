// A relay process's writes to many namespaces at once, for the crash test of the lock files: each
// namespace appends in a loop, so the kill lands while some of them are taking their lock. Prints
// "ready" once every namespace has appended (taking over any lock a killed writer left).
import { createFileBroker } from "@pubsubbud/relay-node/brokers/file";

const [dir, count] = process.argv.slice(2);
const broker = await createFileBroker({ dir });
const turn = () => new Promise((resolve) => setImmediate(resolve));
let appended = 0;
for (let n = 0; n < Number(count); n++)
  void (async () => {
    for (let i = 0; ; i++) {
      await broker.publish(`ns${n}`, { channel: "lock.test", id: `${process.pid}-${i}`, data: i });
      if (i === 0 && ++appended === Number(count)) process.stdout.write("ready\n");
      // A few turns of the event loop now and then, so the namespaces take their locks out of step.
      for (let k = Math.floor(Math.random() * 4); k > 0; k--) await turn();
    }
  })();

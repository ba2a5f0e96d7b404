// A relay process's writes, for the crash test: appends to the file broker as fast as it can and
// prints each acknowledged message as `<offset> <id>`, until it is killed.
import { createFileBroker } from "@pubsubbud/relay-node/brokers/file";

const [dir, namespace] = process.argv.slice(2);
const broker = await createFileBroker({ dir, segmentMessages: 50 });
for (let i = 0; ; i++) {
  const id = `w${process.pid}-${i}`;
  // Several appends in flight, so the kill lands inside a group commit.
  const batch = Array.from({ length: 8 }, (_, k) => `${id}-${k}`);
  const outcomes = await Promise.all(
    batch.map((each) =>
      broker.publish(namespace, {
        channel: `crash.${i % 5}`,
        id: each,
        data: { i, pad: "x".repeat(200) },
      }),
    ),
  );
  process.stdout.write(outcomes.map((o, k) => `${o.offset} ${batch[k]}\n`).join(""));
}

/**
 * The broker contract (`brokerContract` from `@pubsubbud/relay-core/testing`, the suite a
 * third-party broker runs too) on every broker of relay-node, against the real servers; the
 * networked ones and the file broker also with two instances on one server, as two relay
 * processes would see it. relay-worker's SQLite broker runs it inside workerd
 * (packages/relay-worker/src/sqlite-broker.test.ts).
 */
import { brokerContract } from "@pubsubbud/relay-core/testing";
import { brokerKinds } from "./kinds.js";

for (const kind of brokerKinds)
  brokerContract(kind.name, kind.create, {
    skip: kind.unavailable && `${kind.name} is not reachable (see the line above)`,
    twoInstances: kind.name !== "memory",
  });

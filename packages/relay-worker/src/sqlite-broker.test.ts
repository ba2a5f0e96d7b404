/**
 * The broker contract (`@pubsubbud/relay-core/testing`) on relay-worker's SQLite broker, inside
 * real workerd: each broker instance lives on the SQLite storage of a fresh Durable Object, as
 * one namespace's object holds it. workerd lets only that object touch its storage, so every
 * call the suite makes runs inside the object (`runInDurableObject`). One object is one relay,
 * so there is no second instance on a shared server to compare with.
 */
import { env, runInDurableObject } from "cloudflare:test";
import type { Broker } from "@pubsubbud/relay-core";
import { brokerContract } from "@pubsubbud/relay-core/testing";
import type { Env } from "./config.js";
import { createSqliteBroker } from "./sqlite-broker.js";

brokerContract(
  "durable-object sqlite",
  async (retention) => {
    const { NAMESPACES } = env as unknown as Env;
    const stub = NAMESPACES.get(NAMESPACES.newUniqueId());
    const inside = <T>(call: () => T | Promise<T>) => runInDurableObject(stub, async () => call());
    const broker = await runInDurableObject(stub, (_instance, state) =>
      createSqliteBroker(state.storage.sql, retention),
    );
    return {
      name: broker.name,
      capabilities: broker.capabilities,
      publish: (namespace, input) => inside(() => broker.publish(namespace, input)),
      listen: async (namespace, listener) => {
        const stop = await inside(() => broker.listen(namespace, listener));
        return () => inside(stop);
      },
      head: (namespace) => inside(() => broker.head(namespace)),
      since: (namespace, position) => inside(() => broker.since(namespace, position)),
      compareOffsets: (a, b) => broker.compareOffsets(a, b),
      healthy: () => broker.healthy(),
      close: () => inside(() => broker.close()),
    } satisfies Broker;
  },
  { twoInstances: false },
);

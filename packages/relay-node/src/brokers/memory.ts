/** The embedded in-memory broker (the default); see docs/brokers.md. */
export { createMemoryBroker, type MemoryBrokerOptions } from "@pubsubbud/relay-core";

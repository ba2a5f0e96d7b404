/**
 * `@pubsubbud/relay-core/testing`: the broker contract suite, so a third-party broker can prove
 * it keeps the `Broker` interface's promises. Needs vitest.
 */
export {
  type BrokerContractOptions,
  brokerContract,
  type CreateBroker,
} from "./broker-contract.js";

// Runs in Node before the workerd tests: a relay-node for code inside workerd to connect to.
import { startRelay } from "@pubsubbud/relay-node";
import type { TestProject } from "vitest/node";

export default async function setup(project: TestProject) {
  const relay = await startRelay({ port: 0 });
  project.provide("relayNodeUrl", relay.wsUrl);
  return () => relay.close(1000);
}

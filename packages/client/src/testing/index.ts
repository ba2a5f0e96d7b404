/**
 * The test kit: `@pubsubbud/client/testing`. The real relay (relay-core) in memory behind an
 * in-memory WebSocket, a fake clock, fault injection and helpers, for testing code that uses the
 * client without a server, a port or sleeps. Needs `@pubsubbud/relay-core` installed (a dev
 * dependency next to the client).
 */
export { FakeClock } from "./clock.js";
export { type Collected, collect } from "./collect.js";
export {
  createTestRelay,
  type FrameRecord,
  type Target,
  type TestRelay,
  type TestRelayOptions,
} from "./relay.js";

/**
 * `@pubsubbud/relay-core`: what a user builds with — the relay engine, token auth, the broker
 * contract and the in-memory broker. Helpers the runtime adapters and broker adapters share are
 * in `@pubsubbud/relay-core/internal`, outside the semver promise.
 */
export {
  type Broker,
  BrokerFullError,
  type BrokerCapabilities,
  type BrokerGroups,
  type BrokerListener,
  compareDecimalOffsets,
  dedupeKey,
  type GroupBroker,
  type GroupMessage,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type Publisher,
  PublishUncertainError,
  type StopListening,
} from "./broker.js";
export { isPubsubBudError, PubsubBudError } from "@pubsubbud/protocol";
export {
  type AsymmetricAlgorithm,
  type CreateTokenOptions,
  createJwtAuth,
  createToken,
  GRANTS_CLAIM,
  type GrantsByNamespace,
  grantsFor,
  type HmacAlgorithm,
  type JwtAuthOptions,
  type JwtKey,
  TokenError,
} from "./auth.js";
export { HttpCode } from "./http.js";
export { RelayError, RelayErrorCode } from "./errors.js";
export { DEFAULT_RELAY_LIMITS, type RelayLimits } from "./limits.js";
export {
  createMemoryBroker,
  type MemoryBroker,
  type MemoryBrokerOptions,
} from "./memory-broker.js";
export { DEFAULT_RETENTION, type LogRetention } from "./memory-log.js";
export type { TailEntry } from "./tail.js";
export type { RelayCore, RelayCoreOptions, RelayStats, ServerPublish } from "./core-api.js";
export { createRelayCore } from "./relay.js";
export type {
  Authenticate,
  AuthRequest,
  Connection,
  Grants,
  Identity,
  Logger,
  RelayCounters,
  SessionSnapshot,
  Transport,
} from "./types.js";
export { silentLogger } from "./types.js";

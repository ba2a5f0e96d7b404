export {
  type Broker,
  BrokerFullError,
  type BrokerCapabilities,
  type BrokerListener,
  compareDecimalOffsets,
  dedupeKey,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
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
export {
  type HttpAnswer,
  HttpCode,
  type NamespaceRoute,
  namespaceRoute,
  originError,
  pathOf,
  publishNamespace,
  refusal,
  socketNamespace,
  subprotocolError,
  type UpgradeRequest,
  upgradeRefusal,
} from "./http.js";
export {
  type HttpPublishOptions,
  type HttpPublishRequest,
  publishOverHttp,
} from "./http-publish.js";
export { RelayError, RelayErrorCode } from "./errors.js";
export { DEFAULT_RELAY_LIMITS, namespaceError, type RelayLimits } from "./limits.js";
export {
  createMemoryBroker,
  type MemoryBroker,
  type MemoryBrokerOptions,
} from "./memory-broker.js";
export { DEFAULT_RETENTION, type LogRetention, MemoryLog } from "./memory-log.js";
export { getOrCreate } from "./map.js";
export { randomId } from "./random.js";
export { redactSecrets } from "./redact.js";
export {
  type Connection,
  createRelayCore,
  type RelayCore,
  type RelayCoreOptions,
  type RelayStats,
  type ServerPublish,
  type TailEntry,
} from "./relay.js";
export { serializeMessage } from "./serialize.js";
export { SubscriptionIndex } from "./subscription-index.js";
export type {
  Authenticate,
  AuthRequest,
  Grants,
  Identity,
  Logger,
  RelayCounters,
  SessionSnapshot,
  Transport,
} from "./types.js";
export { silentLogger } from "./types.js";

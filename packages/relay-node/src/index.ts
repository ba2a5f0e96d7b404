export type {
  Authenticate,
  AuthRequest,
  Broker,
  BrokerCapabilities,
  Identity,
  Logger,
  LogMessage,
  PublishInput,
  PublishOutcome,
  RelayCore,
  RelayLimits,
  RelayStats,
  StopListening,
} from "@pubsubbud/relay-core";
export { createMemoryBroker, DEFAULT_RELAY_LIMITS, DEFAULT_RETENTION } from "@pubsubbud/relay-core";
export { type BrokerUrlOptions, createBrokerFromUrl } from "./broker-url.js";
export {
  authFromConfig,
  type ConfigSources,
  configSchema,
  loadConfig,
  type RelayConfig,
} from "./config.js";
export { isPubsubBudError, PubsubBudError } from "@pubsubbud/protocol";
export { RelayNodeError, RelayNodeErrorCode } from "./errors.js";
export {
  createPublisher,
  createSubscriber,
  describeEvent,
  EVENT_VERSION,
  type EventMessage,
  type Handler,
  type Publisher,
  type PublisherOptions,
  type RetryPolicy,
  type Subscriber,
  type SubscriberOptions,
} from "./events.js";
export type { LivePageOptions } from "./live-page-access.js";
export { createJsonLogger, type LogLevel } from "./logger.js";
export { renderMetrics } from "./metrics.js";
export { DEFAULT_SERVER_LIMITS, type ServerLimits } from "./own-server.js";
export {
  createRelay,
  type Relay,
  type RelayOptions,
  type RunningRelay,
  startRelay,
} from "./relay.js";

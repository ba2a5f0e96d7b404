/**
 * `@pubsubbud/relay-core/internal`: pieces relay-node and relay-worker share with relay-core —
 * the HTTP surface as plain functions, the upgrade admission, and the helpers broker adapters
 * are built from. Not for applications: it may change in any release.
 */
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
export { namespaceError } from "./limits.js";
export { getOrCreate } from "./map.js";
export { MemoryLog } from "./memory-log.js";
export { randomId } from "./random.js";
export { redactSecrets } from "./redact.js";
export { serializeMessage } from "./serialize.js";
export { SubscriptionIndex } from "./subscription-index.js";
export {
  type Admission,
  type AdmissionPolicy,
  type AdmissionRequest,
  admitUpgrade,
} from "./admission.js";

import type { LogRetention, RelayLimits } from "@pubsubbud/relay-core";

/** The Worker's bindings: the Durable Object namespace and the vars of wrangler.jsonc. */
export interface Env {
  NAMESPACES: DurableObjectNamespace;
  RETENTION_MAX_MESSAGES?: string;
  RETENTION_MAX_AGE_MS?: string;
  DEDUPE_WINDOW_MS?: string;
  MAX_SUBSCRIPTIONS?: string;
}

/** The relay-worker default: bounded so a socket's attachment (its subscriptions) stays under 16 KiB. */
export const WORKER_MAX_SUBSCRIPTIONS = 32;

function positive(env: Env, name: keyof Env): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(
      `var ${name} must be a positive whole number, got ${JSON.stringify(raw)}: fix it in wrangler.jsonc`,
    );
  return value;
}

/** Reads retention and limits from the Worker's vars; errors name the var and the fix. */
export function configFromEnv(env: Env): {
  retention: Partial<LogRetention>;
  limits: Partial<RelayLimits>;
} {
  const retention: Partial<LogRetention> = {};
  const maxMessages = positive(env, "RETENTION_MAX_MESSAGES");
  const maxAgeMs = positive(env, "RETENTION_MAX_AGE_MS");
  const dedupeWindowMs = positive(env, "DEDUPE_WINDOW_MS");
  if (maxMessages) retention.maxMessages = maxMessages;
  if (maxAgeMs) retention.maxAgeMs = maxAgeMs;
  if (dedupeWindowMs) retention.dedupeWindowMs = dedupeWindowMs;
  const maxSubscriptions = positive(env, "MAX_SUBSCRIPTIONS") ?? WORKER_MAX_SUBSCRIPTIONS;
  if (maxSubscriptions > 32)
    throw new Error(
      "var MAX_SUBSCRIPTIONS must be at most 32: a socket's subscriptions must fit its 16 KiB attachment",
    );
  return { retention, limits: { maxSubscriptions } };
}

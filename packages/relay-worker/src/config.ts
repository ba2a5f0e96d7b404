import {
  type AsymmetricAlgorithm,
  type Authenticate,
  createJwtAuth,
  type JwtKey,
  type LogRetention,
  type RelayLimits,
  TokenError,
} from "@pubsubbud/relay-core";

/** The Worker's bindings: the Durable Object namespace and the vars of wrangler.jsonc. */
export interface Env {
  NAMESPACES: DurableObjectNamespace;
  RETENTION_MAX_MESSAGES?: string;
  RETENTION_MAX_AGE_MS?: string;
  /** Most bytes of messages kept for replay (retention.maxBytes; default 16 MiB here). */
  RETENTION_MAX_BYTES?: string;
  DEDUPE_WINDOW_MS?: string;
  MAX_SUBSCRIPTIONS?: string;
  PUBLISH_RATE_PER_SECOND?: string;
  PUBLISH_BURST?: string;
  /** Time a connection has to complete its `hello`, in ms (limits.handshakeTimeoutMs, then 4003). */
  HANDSHAKE_TIMEOUT_MS?: string;
  /** Connections one client address may hold in one namespace (limits.maxConnectionsPerIp). */
  MAX_CONNECTIONS_PER_IP?: string;
  /** HS256 secret of connection tokens: `wrangler secret put JWT_SECRET`. */
  JWT_SECRET?: string;
  /** PEM public key (SPKI) of connection tokens, with JWT_ALG. */
  JWT_PUBLIC_KEY?: string;
  /** JWKS URL of the token issuer, with JWT_ALG. */
  JWT_JWKS_URL?: string;
  /** Algorithm of JWT_PUBLIC_KEY / JWT_JWKS_URL, e.g. RS256 or ES256. */
  JWT_ALG?: string;
  JWT_AUDIENCE?: string;
  JWT_ISSUER?: string;
  /** "all" lets connections without a token in (development: set it in .dev.vars). */
  ANONYMOUS?: string;
  /** Comma-separated browser origins allowed to connect (exact match). */
  ALLOWED_ORIGINS?: string;
}

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
  const maxBytes = positive(env, "RETENTION_MAX_BYTES");
  if (maxMessages) retention.maxMessages = maxMessages;
  if (maxBytes) retention.maxBytes = maxBytes;
  if (maxAgeMs) retention.maxAgeMs = maxAgeMs;
  if (dedupeWindowMs) retention.dedupeWindowMs = dedupeWindowMs;
  const limits: Partial<RelayLimits> = {};
  const vars = [
    ["MAX_SUBSCRIPTIONS", "maxSubscriptions"],
    ["PUBLISH_RATE_PER_SECOND", "publishRatePerSecond"],
    ["PUBLISH_BURST", "publishBurst"],
    ["MAX_CONNECTIONS_PER_IP", "maxConnectionsPerIp"],
    ["HANDSHAKE_TIMEOUT_MS", "handshakeTimeoutMs"],
  ] as const;
  for (const [name, key] of vars) {
    const value = positive(env, name);
    if (value) limits[key] = value;
  }
  return { retention, limits };
}

/**
 * The Worker's authenticate hook from its vars and secrets (docs/security.md). Without any of
 * them every connection is refused with a message that says what to set: a deployed relay is
 * never open by accident.
 */
export function authFromEnv(env: Env): Authenticate {
  const keys: JwtKey[] = [];
  if (env.JWT_SECRET) keys.push({ alg: "HS256", secret: env.JWT_SECRET });
  if (env.JWT_PUBLIC_KEY || env.JWT_JWKS_URL) {
    const alg = env.JWT_ALG as AsymmetricAlgorithm | undefined;
    if (!alg)
      throw new Error(
        "var JWT_ALG must name the algorithm of JWT_PUBLIC_KEY or JWT_JWKS_URL, e.g. RS256",
      );
    if (env.JWT_PUBLIC_KEY) keys.push({ alg, publicKey: env.JWT_PUBLIC_KEY });
    if (env.JWT_JWKS_URL) keys.push({ alg, jwksUrl: env.JWT_JWKS_URL });
  }
  const anonymous = env.ANONYMOUS === "all";
  if (env.ANONYMOUS && !anonymous) throw new Error('var ANONYMOUS must be "all" or unset');
  if (keys.length === 0 && !anonymous)
    return () => {
      throw new TokenError(
        "this relay has no auth configured: set the JWT_SECRET secret (or JWT_PUBLIC_KEY / JWT_JWKS_URL with JWT_ALG), or ANONYMOUS=all for development",
      );
    };
  return createJwtAuth({
    keys,
    ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
    ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
    ...(anonymous ? { anonymous: "all" as const } : {}),
  });
}

/** The allowed browser origins from ALLOWED_ORIGINS, or undefined (every origin). */
export function originsFromEnv(env: Env): string[] | undefined {
  return env.ALLOWED_ORIGINS?.split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
}

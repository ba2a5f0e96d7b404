import { readFileSync } from "node:fs";
import { isIPv4 } from "node:net";
import {
  type Authenticate,
  createJwtAuth,
  DEFAULT_RELAY_LIMITS,
  DEFAULT_RETENTION,
} from "@pubsubbud/relay-core";
import { z } from "zod";
import { RelayNodeError, RelayNodeErrorCode } from "./errors.js";
import { LOG_LEVELS } from "./logger.js";

const positiveInt = z.number().int().positive();
const limitsSchema = z
  .object(
    Object.fromEntries(
      Object.keys(DEFAULT_RELAY_LIMITS).map((key) => [key, positiveInt.optional()]),
    ),
  )
  .strict();
const retentionSchema = z
  .object(
    Object.fromEntries(Object.keys(DEFAULT_RETENTION).map((key) => [key, positiveInt.optional()])),
  )
  .strict();

const brokerOptionsSchema = z
  .object({
    prefix: z.string().min(1).optional(),
    maxBytes: positiveInt.optional(),
    fsync: z.enum(["always", "interval"]).optional(),
    fsyncIntervalMs: positiveInt.optional(),
    segmentMessages: positiveInt.optional(),
    pollMs: positiveInt.optional(),
    lingerMs: z.number().int().min(0).optional(),
    sessionExpirySeconds: positiveInt.optional(),
    publishTimeoutMs: positiveInt.optional(),
    maxPublishesInFlight: positiveInt.optional(),
    probeMessages: z.number().int().min(0).optional(),
    keylessChannel: z.string().min(1).optional(),
    table: z.string().min(1).optional(),
    channel: z.string().min(1).optional(),
    exchange: z.string().min(1).optional(),
    replicas: positiveInt.optional(),
    connectTimeoutMs: positiveInt.optional(),
  })
  .strict();

const patterns = z.array(z.string().min(1));
const grantsSchema = z.record(
  z.string().min(1),
  z.object({ subscribe: patterns.optional(), publish: patterns.optional() }).strict(),
);
const keySchema = z.union([
  z
    .object({
      alg: z.enum(["HS256", "HS384", "HS512"]),
      secret: z.string().min(32),
      kid: z.string().optional(),
    })
    .strict(),
  z
    .object({
      alg: z.enum(["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]),
      publicKey: z.string().includes("BEGIN PUBLIC KEY"),
      kid: z.string().optional(),
    })
    .strict(),
  z
    .object({
      alg: z.enum(["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]),
      jwksUrl: z.url(),
    })
    .strict(),
]);
const authSchema = z
  .object({
    /** JWT connection tokens (docs/security.md). */
    jwt: z
      .object({
        keys: z.array(keySchema).min(1),
        audience: z.union([z.string(), z.array(z.string())]).optional(),
        issuer: z.union([z.string(), z.array(z.string())]).optional(),
        clockToleranceSeconds: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    /** Grants of connections without a token, or "all"; without it they are refused. */
    anonymous: z.union([z.literal("all"), grantsSchema]).optional(),
    /** Secret the live page's data needs as a bearer token; required for the live page with auth. */
    adminToken: z.string().min(32, "at least 32 bytes: openssl rand -base64 32").optional(),
    /** Browser origins allowed to open a socket or publish (exact match); unset allows every origin. */
    allowedOrigins: z
      .array(z.string().regex(/^https?:\/\/[^/]+$/, "an origin: scheme://host[:port], no path"))
      .optional(),
  })
  .strict();

/** The relay's configuration: file, then environment, then flags; docs/operations.md lists it. */
export const configSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8080),
    broker: z.string().min(1).default("memory"),
    /** Serve the live page and /v1/stats; by default only on a loopback address (and with auth, an admin token). */
    livePage: z.boolean().optional(),
    /** Host names the live page answers to; by default the loopback names and the bound address. */
    livePageHosts: z.array(z.string().min(1)).optional(),
    logLevel: z.enum(LOG_LEVELS).default("info"),
    shutdownTimeoutMs: positiveInt.default(10_000),
    /** Header a reverse proxy sets to the client's address, for `limits.maxConnectionsPerIp`. */
    clientIpHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, "a header name, e.g. x-real-ip")
      .optional(),
    limits: limitsSchema.default({}),
    /** Bounds of the relay's HTTP server against slow and piled-up connections. */
    server: z
      .object({
        headersTimeoutMs: positiveInt.optional(),
        requestTimeoutMs: positiveInt.optional(),
        maxPendingPerIp: positiveInt.optional(),
      })
      .strict()
      .default({}),
    retention: retentionSchema.default({}),
    /** Options of the broker the URL selects (docs/brokers.md); others are ignored. */
    brokerOptions: brokerOptionsSchema.default({}),
    /** Who may connect and what they may do (docs/security.md). Unset: open, loopback hosts only. */
    auth: authSchema.optional(),
  })
  .strict();
export type RelayConfig = z.infer<typeof configSchema>;

/** Where each setting may come from. */
export interface ConfigSources {
  /** Path of a JSON config file. */
  file?: string;
  env?: Record<string, string | undefined>;
  /** Values from command-line flags (highest precedence). */
  flags?: Partial<Record<"host" | "port" | "broker" | "livePage" | "logLevel", string | boolean>>;
}

const ENV = {
  PUBSUBBUD_HOST: "host",
  PUBSUBBUD_PORT: "port",
  PUBSUBBUD_BROKER: "broker",
  PUBSUBBUD_LIVE_PAGE: "livePage",
  PUBSUBBUD_LOG_LEVEL: "logLevel",
  PUBSUBBUD_CLIENT_IP_HEADER: "clientIpHeader",
  PUBSUBBUD_LIVE_PAGE_HOSTS: "livePageHosts",
} as const;

function coerce(key: string, value: string | boolean): unknown {
  if (typeof value === "boolean") return value;
  if (key === "port") return /^\d+$/.test(value) ? Number(value) : value;
  if (key === "livePageHosts") return value.split(",").map((host) => host.trim());
  if (key === "livePage")
    return value === "true" || value === "1"
      ? true
      : value === "false" || value === "0"
        ? false
        : value;
  return value;
}

function fail(message: string): never {
  throw new RelayNodeError(RelayNodeErrorCode.BadConfig, message);
}

/**
 * Loads and validates the configuration. Errors name the field, where it came from and the fix.
 * @example loadConfig({ file: "pubsubbud.json", env: process.env, flags: { port: "9000" } })
 */
export function loadConfig(sources: ConfigSources = {}): RelayConfig {
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  if (sources.file) {
    let text: string;
    try {
      text = readFileSync(sources.file, "utf8");
    } catch (error) {
      fail(
        `config file ${sources.file} cannot be read (${(error as NodeJS.ErrnoException).code}); check the path given to --config`,
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      fail(`config file ${sources.file} is not valid JSON: ${(error as Error).message}`);
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw))
      fail(`config file ${sources.file} must hold a JSON object`);
    for (const [key, value] of Object.entries(raw)) {
      merged[key] = value;
      origin[key] = `config file ${sources.file}`;
    }
  }
  for (const [name, key] of Object.entries(ENV)) {
    const value = sources.env?.[name];
    if (value === undefined || value === "") continue;
    merged[key] = coerce(key, value);
    origin[key] = `environment variable ${name}`;
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    merged[key] = coerce(key, value);
    origin[key] = `flag --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  }
  // Secrets from the environment, so they stay out of config files and process lists.
  const secret = sources.env?.PUBSUBBUD_JWT_SECRET;
  const anonymous = sources.env?.PUBSUBBUD_ANONYMOUS;
  const origins = sources.env?.PUBSUBBUD_ALLOWED_ORIGINS;
  const adminToken = sources.env?.PUBSUBBUD_ADMIN_TOKEN;
  if (secret || anonymous || origins || adminToken) {
    const auth = { ...(merged.auth as Record<string, unknown> | undefined) };
    if (secret) {
      const jwt = (auth.jwt ?? {}) as { keys?: unknown[] };
      auth.jwt = { ...jwt, keys: [...(jwt.keys ?? []), { alg: "HS256", secret }] };
      origin.auth = "environment variable PUBSUBBUD_JWT_SECRET";
    }
    if (anonymous === "all") auth.anonymous = "all";
    else if (anonymous)
      fail('PUBSUBBUD_ANONYMOUS must be "all"; give finer anonymous grants in the config file');
    if (origins) auth.allowedOrigins = origins.split(",").map((o) => o.trim());
    if (adminToken) {
      auth.adminToken = adminToken;
      origin.auth ??= "environment variable PUBSUBBUD_ADMIN_TOKEN";
    }
    merged.auth = auth;
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field =
        issue.path.join(".") ||
        (issue.code === "unrecognized_keys" ? issue.keys.join(", ") : "config");
      const from = origin[String(issue.path[0] ?? "")] ?? "the configuration";
      const hint =
        issue.code === "unrecognized_keys"
          ? `unknown setting ${issue.keys.map((k) => `${issue.path.length ? `${issue.path.join(".")}.` : ""}${k}`).join(", ")}; see docs/operations.md for the settings`
          : issue.message;
      return `${field} (from ${from}): ${hint}`;
    });
    fail(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return parsed.data;
}

/**
 * True for addresses only this machine can reach: `localhost`, `::1` and IPv4 literals in
 * 127.0.0.0/8. A name such as `127.example.com` is not one, whatever it resolves to.
 */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIPv4(host) && host.startsWith("127."));
}

/**
 * The relay's authenticate hook from its config: undefined (everything open) only on a loopback
 * host without `auth`; a relay reachable from elsewhere must say who may connect.
 */
export function authFromConfig(config: RelayConfig): Authenticate | undefined {
  const { auth } = config;
  if (!auth?.jwt && !auth?.anonymous) {
    if (isLoopback(config.host)) return undefined;
    fail(
      `the relay binds ${config.host} with no auth: set PUBSUBBUD_JWT_SECRET (or auth.jwt in the config file) for tokens, or PUBSUBBUD_ANONYMOUS=all to let anyone in; see docs/security.md`,
    );
  }
  return createJwtAuth({
    keys: auth.jwt?.keys ?? [],
    ...(auth.jwt?.audience !== undefined ? { audience: auth.jwt.audience } : {}),
    ...(auth.jwt?.issuer !== undefined ? { issuer: auth.jwt.issuer } : {}),
    ...(auth.jwt?.clockToleranceSeconds !== undefined
      ? { clockToleranceSeconds: auth.jwt.clockToleranceSeconds }
      : {}),
    ...(auth.anonymous ? { anonymous: auth.anonymous } : {}),
  });
}

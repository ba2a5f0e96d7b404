import { readFileSync } from "node:fs";
import { DEFAULT_RELAY_LIMITS, DEFAULT_RETENTION } from "@pubsubbud/relay-core";
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
    fsync: z.enum(["always", "interval"]).optional(),
    fsyncIntervalMs: positiveInt.optional(),
    segmentMessages: positiveInt.optional(),
    pollMs: positiveInt.optional(),
    lingerMs: z.number().int().min(0).optional(),
    sessionExpirySeconds: positiveInt.optional(),
    publishTimeoutMs: positiveInt.optional(),
    keylessChannel: z.string().min(1).optional(),
    table: z.string().min(1).optional(),
    channel: z.string().min(1).optional(),
    exchange: z.string().min(1).optional(),
    replicas: positiveInt.optional(),
    connectTimeoutMs: positiveInt.optional(),
  })
  .strict();

/** The relay's configuration: file, then environment, then flags; docs/operations.md lists it. */
export const configSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8080),
    broker: z.string().min(1).default("memory"),
    /** Serve the live page and /v1/stats; by default only when bound to a loopback address. */
    livePage: z.boolean().optional(),
    logLevel: z.enum(LOG_LEVELS).default("info"),
    shutdownTimeoutMs: positiveInt.default(10_000),
    limits: limitsSchema.default({}),
    retention: retentionSchema.default({}),
    /** Options of the broker the URL selects (docs/brokers.md); others are ignored. */
    brokerOptions: brokerOptionsSchema.default({}),
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
} as const;

function coerce(key: string, value: string | boolean): unknown {
  if (typeof value === "boolean") return value;
  if (key === "port") return /^\d+$/.test(value) ? Number(value) : value;
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

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

#!/usr/bin/env node
import { parseArgs } from "node:util";
import { createBrokerFromUrl } from "./broker-url.js";
import { createToken, type GrantsByNamespace } from "@pubsubbud/relay-core";
import { authFromConfig, isLoopback, loadConfig } from "./config.js";
import { RelayNodeError, RelayNodeErrorCode } from "./errors.js";
import { createJsonLogger } from "./logger.js";
import { createRelay } from "./relay.js";

const USAGE = `Usage: pubsubbud relay [options]
       pubsubbud token --user <id> --grant <ns>:<subscribe|publish>:<pattern> [--grant …] [--ttl <s>]

relay: runs a PubsubBud relay.
token: prints a JWT for a client, signed with PUBSUBBUD_JWT_SECRET (HS256), for development and
scripts; backends mint theirs with createToken (docs/security.md).

Options:
  --host <host>        address to bind (default 127.0.0.1; env PUBSUBBUD_HOST)
  --port <port>        port to bind, 0 for any free port (default 8080; env PUBSUBBUD_PORT)
  --broker <url>       broker URL: memory (default; env PUBSUBBUD_BROKER)
  --config <file>      JSON config file (see docs/operations.md)
  --live-page          serve the live page at / (default: on for loopback hosts; with auth,
                       only when PUBSUBBUD_ADMIN_TOKEN is set, and the page asks for it)
  --no-live-page       do not serve the live page
  --log-level <level>  debug | info | warn | error | silent (default info)
  -h, --help           show this help

Token options:
  --user <id>          the token's subject, stamped on the user's publishes as header "sender"
  --grant <g>          <namespace|*>:<subscribe|publish>:<pattern>, repeatable
  --ttl <seconds>      lifetime (default 3600)
  --audience <aud>     the aud claim, when the relay checks one
  --issuer <iss>       the iss claim, when the relay checks one
`;

/** `pubsubbud token`: a development token from the command line. */
async function token(
  values: Record<string, string | string[] | boolean | undefined>,
): Promise<number> {
  const secret = process.env.PUBSUBBUD_JWT_SECRET;
  if (!secret)
    throw new RelayNodeError(
      RelayNodeErrorCode.BadConfig,
      "set PUBSUBBUD_JWT_SECRET to the relay's secret (at least 32 bytes) to sign the token",
    );
  const grants: GrantsByNamespace = {};
  for (const grant of (values.grant as string[] | undefined) ?? []) {
    const match = /^([^:]+):(subscribe|publish):(.+)$/.exec(grant);
    if (!match)
      throw new RelayNodeError(
        RelayNodeErrorCode.BadConfig,
        `--grant ${JSON.stringify(grant)} must be <namespace|*>:<subscribe|publish>:<pattern>, e.g. chat:subscribe:chat.*`,
      );
    const [, namespace, action, pattern] = match as unknown as [
      string,
      string,
      "subscribe" | "publish",
      string,
    ];
    const entry = grants[namespace] ?? {};
    grants[namespace] = entry;
    entry[action] = [...(entry[action] ?? []), pattern];
  }
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isSafeInteger(ttl) || ttl <= 0)
    throw new RelayNodeError(
      RelayNodeErrorCode.BadConfig,
      "--ttl must be a positive number of seconds",
    );
  const jwt = await createToken({
    key: { alg: "HS256", secret },
    grants,
    expiresInSeconds: ttl,
    ...(typeof values.user === "string" ? { user: values.user } : {}),
    ...(typeof values.audience === "string" ? { audience: values.audience } : {}),
    ...(typeof values.issuer === "string" ? { issuer: values.issuer } : {}),
  });
  process.stdout.write(`${jwt}\n`);
  return 0;
}

const RELAY_OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  broker: { type: "string" },
  config: { type: "string" },
  "live-page": { type: "boolean" },
  "no-live-page": { type: "boolean" },
  "log-level": { type: "string" },
} as const;
const TOKEN_OPTIONS = {
  user: { type: "string" },
  grant: { type: "string", multiple: true },
  ttl: { type: "string" },
  audience: { type: "string" },
  issuer: { type: "string" },
} as const;
const COMMANDS = { relay: RELAY_OPTIONS, token: TOKEN_OPTIONS } as const;

/** A command line the CLI cannot run: printed with the usage, exit code 2. */
class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Parses `argv` for its command, refusing (by name) a flag or argument that command lacks. */
function parseCommand(argv: string[]) {
  let parsed: ReturnType<typeof parseAll>;
  try {
    parsed = parseAll(argv);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!code?.startsWith("ERR_PARSE_ARGS_")) throw error;
    const flag = /'(-[^' ]+)/.exec((error as Error).message)?.[1];
    const message = (error as Error).message;
    throw new UsageError(
      code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag
        ? `unknown option ${flag}`
        : message.includes("argument missing") && flag
          ? `option ${flag} needs a value`
          : (message.split(". ")[0] ?? "bad arguments"),
    );
  }
  const [command, ...extra] = parsed.positionals;
  if (command !== undefined && !Object.hasOwn(COMMANDS, command))
    throw new UsageError(`unknown command "${command}": use relay or token`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (command !== undefined) {
    const own = COMMANDS[command as keyof typeof COMMANDS];
    const other = Object.keys(parsed.values).find(
      (key) => key !== "help" && !Object.hasOwn(own, key),
    );
    if (other) throw new UsageError(`--${other} is not an option of pubsubbud ${command}`);
  }
  return { command, values: parsed.values };
}

function parseAll(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...RELAY_OPTIONS, ...TOKEN_OPTIONS, help: { type: "boolean", short: "h" } },
  });
}

async function main(argv: string[]): Promise<number> {
  const { command, values } = parseCommand(argv);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === undefined) throw new UsageError("name a command: relay or token");
  if (command === "token") return token(values);
  const livePageFlag = values["no-live-page"] ? false : values["live-page"] ? true : undefined;
  const config = loadConfig({
    ...(values.config ? { file: values.config } : {}),
    env: process.env,
    flags: {
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(values.port !== undefined ? { port: values.port } : {}),
      ...(values.broker !== undefined ? { broker: values.broker } : {}),
      ...(livePageFlag !== undefined ? { livePage: livePageFlag } : {}),
      ...(values["log-level"] !== undefined ? { logLevel: values["log-level"] } : {}),
    },
  });
  const authenticate = authFromConfig(config);
  const allowedOrigins = config.auth?.allowedOrigins;
  const logger = createJsonLogger(config.logLevel, (line) => process.stderr.write(line));
  const broker = await createBrokerFromUrl(config.broker, {
    ...config.brokerOptions,
    retention: config.retention,
    log: (level, message, fields) => logger[level](message, fields),
  });
  const adminToken = config.auth?.adminToken;
  // With auth the page needs an admin token: without one it stays off unless asked for, and
  // asked for, createRelay refuses and says what to set.
  const livePage =
    config.livePage ?? (isLoopback(config.host) && (!authenticate || adminToken !== undefined));
  const relay = createRelay({
    broker,
    limits: config.limits,
    server: config.server,
    logger,
    livePage: livePage && {
      ...(adminToken ? { adminToken } : {}),
      ...(config.livePageHosts ? { allowedHosts: config.livePageHosts } : {}),
    },
    ...(authenticate ? { authenticate } : {}),
    ...(allowedOrigins ? { allowedOrigins } : {}),
    ...(config.clientIpHeader ? { clientIpHeader: config.clientIpHeader } : {}),
  });
  const running = await relay
    .listen({ host: config.host, port: config.port })
    .catch((error: NodeJS.ErrnoException) => {
      throw error.code === "EADDRINUSE" || error.code === "EACCES"
        ? new RelayNodeError(
            RelayNodeErrorCode.BadConfig,
            `cannot listen on ${config.host}:${config.port} (${error.code}): pass --port <free port> or set PUBSUBBUD_PORT`,
            { cause: error },
          )
        : error;
    });
  logger.info("relay listening", { url: running.url, broker: broker.name, livePage });
  process.stdout.write(
    `PubsubBud relay on ${running.wsUrl} (broker: ${broker.name})\n` +
      (livePage
        ? `Live page: ${running.url}/${adminToken ? " (it asks for PUBSUBBUD_ADMIN_TOKEN)" : ""}\n`
        : "") +
      `Health: ${running.url}/healthz  Metrics: ${running.url}/metrics\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info("shutting down", { signal });
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await running.close(config.shutdownTimeoutMs);
  logger.info("stopped");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`pubsubbud: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    const err = error as Error & { code?: string };
    process.stderr.write(`pubsubbud: ${err.code ? `[${err.code}] ` : ""}${err.message}\n`);
    process.exit(1);
  },
);

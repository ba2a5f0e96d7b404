#!/usr/bin/env node
import { parseArgs } from "node:util";
import { createBrokerFromUrl } from "./broker-url.js";
import { isLoopback, loadConfig } from "./config.js";
import { RelayNodeError, RelayNodeErrorCode } from "./errors.js";
import { createJsonLogger } from "./logger.js";
import { createRelay } from "./relay.js";

const USAGE = `Usage: pubsubbud relay [options]

Runs a PubsubBud relay.

Options:
  --host <host>        address to bind (default 127.0.0.1; env PUBSUBBUD_HOST)
  --port <port>        port to bind, 0 for any free port (default 8080; env PUBSUBBUD_PORT)
  --broker <url>       broker URL: memory (default; env PUBSUBBUD_BROKER)
  --config <file>      JSON config file (see docs/operations.md)
  --live-page          serve the live page at / (default: on for loopback hosts only)
  --no-live-page       do not serve the live page
  --log-level <level>  debug | info | warn | error | silent (default info)
  -h, --help           show this help
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      broker: { type: "string" },
      config: { type: "string" },
      "live-page": { type: "boolean" },
      "no-live-page": { type: "boolean" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || positionals[0] !== "relay") {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
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
  const logger = createJsonLogger(config.logLevel, (line) => process.stderr.write(line));
  const broker = await createBrokerFromUrl(config.broker, {
    ...config.brokerOptions,
    retention: config.retention,
    log: (level, message, fields) => logger[level](message, fields),
  });
  const livePage = config.livePage ?? isLoopback(config.host);
  const relay = createRelay({ broker, limits: config.limits, logger, livePage });
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
      (livePage ? `Live page: ${running.url}/\n` : "") +
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
    const err = error as Error & { code?: string };
    process.stderr.write(`pubsubbud: ${err.code ? `[${err.code}] ` : ""}${err.message}\n`);
    process.exit(1);
  },
);

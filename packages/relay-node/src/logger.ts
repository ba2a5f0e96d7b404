import type { Logger } from "@pubsubbud/relay-core";
import { redactSecrets } from "@pubsubbud/relay-core/internal";

/** Log levels, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * A structured logger writing one JSON object per line (for the CLI; libraries take any Logger),
 * with credentials masked (`redactSecrets`).
 * @example createJsonLogger("info", (line) => process.stderr.write(line))
 */
export function createJsonLogger(level: LogLevel, write: (line: string) => void): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const at =
    (name: Exclude<LogLevel, "silent">) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (LOG_LEVELS.indexOf(name) < min) return;
      const line = JSON.stringify({
        time: new Date().toISOString(),
        level: name,
        message,
        ...fields,
      });
      write(`${redactSecrets(line)}\n`);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

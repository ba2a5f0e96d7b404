/**
 * A relay in a process of its own, as a user runs it: the `pubsubbud` CLI or a script. A test can
 * then tell whether hostile input killed the process, and read what it logged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../packages/relay-node/dist/cli.js", import.meta.url));

export interface RelayProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string;
  /** True while the process runs. */
  alive(): boolean;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Runs `node <script> ...args` (the CLI by default) and waits for the line that names its port,
 * `PubsubBud relay on ws://host:port` or `listening on <port>`.
 */
export async function startRelayProcess(
  args: string[],
  env: Record<string, string> = {},
  script = CLI,
): Promise<RelayProcess> {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const exited = once(child, "exit");
  const portLine = /(?:PubsubBud relay on ws:\/\/[^:\s]+:|listening on )(\d+)/;
  for (;;) {
    const match = portLine.exec(stdout);
    if (match) {
      const port = Number(match[1]);
      return {
        child,
        port,
        url: `http://127.0.0.1:${port}`,
        wsUrl: `ws://127.0.0.1:${port}`,
        alive: () => child.exitCode === null && child.signalCode === null,
        stderr: () => stderr,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGKILL");
          await exited;
        },
      };
    }
    await Promise.race([once(child.stdout as NodeJS.ReadableStream, "data"), exited]);
    if (child.exitCode !== null) throw new Error(`the relay process exited: ${stderr}`);
  }
}

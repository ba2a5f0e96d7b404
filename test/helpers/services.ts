/**
 * The real servers the broker suites use, how to tell they are up, and private instances that a
 * fault test may kill and restart without disturbing the suites running beside it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function reachable(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export const services = {
  redis: {
    port: 6379,
    fix: "start it: redis-server --daemonize yes --port 6379 --save '' --appendonly no",
  },
  mqtt: { port: 1883, fix: "start it: mosquitto -d -c /etc/mosquitto/mosquitto.conf" },
  kafka: { port: 9092, fix: "start it: npm run services:kafka" },
  postgres: {
    port: 5432,
    fix: "start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
  },
  nats: { port: 4222, fix: "start it: nats-server -a 127.0.0.1 -p 4222 -js" },
  amqp: { port: 5672, fix: "start it: rabbitmq-server -detached" },
} as const;

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** A server process a fault test owns: it can be killed (SIGKILL) and started again on its port. */
export interface PrivateServer {
  readonly port: number;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Waits until 127.0.0.1:`port` accepts connections. */
export async function untilReachable(port: number, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await reachable(port, 200))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs `command` (a program that stays in the foreground) as a killable private server. */
function foregroundServer(port: number, program: string, args: string[]): PrivateServer {
  let child: ChildProcess | undefined;
  const kill = async () => {
    const dying = child;
    if (!dying || dying.exitCode !== null || dying.signalCode !== null) return;
    const exited = new Promise((resolve) => dying.once("exit", resolve));
    dying.kill("SIGKILL");
    await exited;
  };
  return {
    port,
    async start() {
      child = spawn(program, args, { stdio: "ignore" });
      await untilReachable(port, program);
    },
    kill,
    stop: kill,
  };
}

/** A private redis-server without persistence, like the shared one. */
export function privateRedis(port: number): PrivateServer {
  return foregroundServer(port, "redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
}

/** A private Mosquitto listening on 127.0.0.1 without persistence. */
export function privateMosquitto(port: number): PrivateServer {
  return foregroundServer(port, "mosquitto", ["-p", String(port)]);
}

/** A private Kafka (KRaft) broker from the repo's script; its log survives a kill. */
export function privateKafka(port: number): PrivateServer {
  const script = join(repoRoot, "scripts/services/kafka.sh");
  const env = { ...process.env, PUBSUBBUD_KAFKA_PORT: String(port) };
  return {
    port,
    async start() {
      execFileSync(script, ["start"], { env, stdio: "ignore" });
    },
    async kill() {
      execFileSync(script, ["kill"], { env, stdio: "ignore" });
    },
    async stop() {
      execFileSync(script, ["stop"], { env, stdio: "ignore" });
    },
  };
}

/** A fresh temporary directory. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pubsubbud-${prefix}-`));
}

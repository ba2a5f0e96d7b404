/**
 * The real servers the broker suites use, how to tell they are up, and private instances that a
 * fault test may kill and restart without disturbing the suites running beside it.
 */
import {
  type ChildProcess,
  execFileSync,
  type SpawnOptions,
  spawn,
  spawnSync,
} from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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
export function foregroundServer(
  port: number,
  program: string,
  args: string[],
  options: SpawnOptions = {},
  prepare?: () => void,
): PrivateServer {
  let child: ChildProcess | undefined;
  let prepared = false;
  const kill = async () => {
    const dying = child;
    if (!dying || dying.exitCode !== null || dying.signalCode !== null) return;
    const exited = new Promise((resolve) => dying.once("exit", resolve));
    dying.kill("SIGKILL");
    await exited;
  };
  /** The end of what the server printed, to name why a start timed out. */
  let output = "";
  const spawnIt = () => {
    output = "";
    child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-2_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  };
  return {
    port,
    async start() {
      if (!prepared) prepare?.();
      prepared = true;
      spawnIt();
      try {
        await untilReachable(port, program);
      } catch {
        // A server that did not come up on a loaded machine (a RabbitMQ node that never got as far
        // as its log, once in CI) is started once more; what it printed names a second failure.
        await kill();
        const first = output;
        spawnIt();
        await untilReachable(port, program).catch((error: Error) => {
          throw new Error(`${error.message} (twice); it printed:\n${first}\n---\n${output}`);
        });
      }
    },
    kill,
    stop: kill,
  };
}

/** A private nats-server with JetStream; its store survives a kill. */
export function privateNats(port: number): PrivateServer {
  const store = tempDir("nats");
  return foregroundServer(port, "nats-server", [
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "-js",
    "-sd",
    store,
  ]);
}

/** A private PostgreSQL cluster (initdb once, run as the postgres user); its data survives a kill. */
export function privatePostgres(port: number): PrivateServer {
  const bin = execFileSync("sh", ["-c", "ls -d /usr/lib/postgresql/*/bin | tail -1"])
    .toString()
    .trim();
  const dir = join(tempDir("postgres"), "data");
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
  const server = foregroundServer(
    port,
    `${bin}/postgres`,
    ["-D", dir, "-p", String(port), "-k", dirname(dir), "-c", "listen_addresses=127.0.0.1"],
    { uid, gid },
    () => {
      execFileSync("chown", ["postgres:postgres", dirname(dir)]);
      execFileSync(`${bin}/initdb`, ["-D", dir, "-A", "trust", "-U", "postgres"], {
        uid,
        gid,
        stdio: "ignore",
      });
    },
  );
  const start = async () => {
    await server.start();
    // The port opens before recovery ends: wait until it accepts sessions.
    const deadline = Date.now() + 30_000;
    while (spawnSync(`${bin}/pg_isready`, ["-h", "127.0.0.1", "-p", String(port)]).status !== 0) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL on port ${port} never became ready`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { ...server, start };
}

/** A private RabbitMQ node (its own name, port and data), killed with SIGKILL like a crash. */
export function privateRabbit(port: number): PrivateServer {
  const dir = tempDir("rabbitmq");
  const node = `pubsubbud${port}@localhost`;
  writeFileSync(join(dir, "rabbitmq.conf"), `listeners.tcp.default = 127.0.0.1:${port}\n`);
  execFileSync("chown", ["-R", "rabbitmq:rabbitmq", dir]);
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(port + 20_000),
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq.conf"),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "plugins"),
    RABBITMQ_FEATURE_FLAGS_FILE: join(dir, "feature_flags"),
    RABBITMQ_PID_FILE: join(dir, "pid"),
  };
  const server = foregroundServer(port, "rabbitmq-server", [], { env, cwd: dir });
  const kill = async () => {
    // The Erlang VM runs under the start script and writes its pid here: kill the node itself.
    // No pid file: the node never got that far (a start that failed), so there is none to kill.
    const pidFile = join(dir, "pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : 0;
    if (pid > 0) execFileSync("sh", ["-c", `kill -9 ${pid} 2>/dev/null || true`]);
    await server.kill();
  };
  return { ...server, kill, stop: kill };
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

/** A private Kafka that can also be frozen (SIGSTOP: connections open, no answers) and thawed. */
export interface PrivateKafka extends PrivateServer {
  freeze(): Promise<void>;
  thaw(): Promise<void>;
}

/** A private Kafka (KRaft) broker from the repo's script; its log survives a kill. */
export function privateKafka(port: number): PrivateKafka {
  const script = join(repoRoot, "scripts/services/kafka.sh");
  const env = { ...process.env, PUBSUBBUD_KAFKA_PORT: String(port) };
  const run = async (command: string) => {
    execFileSync(script, [command], { env, stdio: "ignore" });
  };
  return {
    port,
    start: () => run("start"),
    kill: () => run("kill"),
    stop: () => run("stop"),
    freeze: () => run("freeze"),
    thaw: () => run("thaw"),
  };
}

/** A fresh temporary directory. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pubsubbud-${prefix}-`));
}

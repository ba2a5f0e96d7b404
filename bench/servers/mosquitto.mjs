// Mosquitto (C) on the same workloads: this wrapper starts its own mosquitto (not the system one
// on 1883) with a generated config in a temp dir on a free port, and answers the bench's
// ready/mark/probe IPC with the mosquitto process's CPU time (its threads' on-CPU nanoseconds,
// /proc/<pid>/task/*/schedstat: /proc/<pid>/stat counts in 10 ms ticks, too coarse for a
// measured phase of a few ms) and resident set (VmRSS, /proc/<pid>/status).
// Arguments: the listener's protocol, `mqtt` (plain MQTT over TCP, the default) or `websockets`
// (MQTT over WebSocket), and the binary. Debian's /usr/sbin/mosquitto (the default) starts no
// `protocol websockets` listener: its libwebsockets lacks external poll. The "Mosquitto (WS)"
// target passes one built by scripts/bench/mosquitto-ws.sh.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [protocol = "mqtt", binary = process.env.BENCH_MOSQUITTO ?? "/usr/sbin/mosquitto"] =
  process.argv.slice(2);

/** A port nothing listens on now (mosquitto cannot report a port it picked itself). */
const freePort = () =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), "bench-mosquitto-"));
const config = join(dir, "mosquitto.conf");
writeFileSync(
  config,
  [
    `listener ${port} 127.0.0.1`,
    `protocol ${protocol}`,
    "allow_anonymous true",
    "persistence false",
    "max_connections -1",
    // No log line per connection: a log write each would count against mosquitto's CPU.
    "connection_messages false",
    // As ws does on its sockets: no Nagle delay on small frames (libwebsockets sets it itself).
    "set_tcp_nodelay true",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "",
  ].join("\n"),
);
const broker = spawn(binary, ["-c", config], { stdio: ["ignore", "inherit", "inherit"] });
process.on("exit", () => broker.kill("SIGKILL"));
process.on("disconnect", () => process.exit(0));
// The bench stops it with SIGKILL; this wrapper follows it.
broker.on("exit", (code, signal) => {
  if (signal !== "SIGKILL") process.stderr.write(`mosquitto exited (${code ?? signal})\n`);
  process.exit(code ?? 0);
});

/** CPU microseconds (user + system) of the mosquitto process, all its threads. */
const cpuMicros = () =>
  readdirSync(`/proc/${broker.pid}/task`).reduce(
    (sum, task) =>
      sum +
      Number(readFileSync(`/proc/${broker.pid}/task/${task}/schedstat`, "utf8").split(" ")[0]) /
        1000,
    0,
  );

/** Resident bytes of the mosquitto process. */
const rss = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${broker.pid}/status`, "utf8"))?.[1]) * 1024;

/** Whether mosquitto accepts a TCP connection on its port yet. */
const accepts = () =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
      .once("connect", () => {
        socket.end();
        resolve(true);
      })
      .once("error", () => resolve(false));
  });

// Ready once its listener accepts (it logs to a pipe in blocks, so there is no line to wait for).
while (!(await accepts())) await new Promise((resolve) => setTimeout(resolve, 20));
rmSync(dir, { recursive: true, force: true });

// `pids`: the bench stops this wrapper by killing these.
process.send({ type: "ready", port, pids: [broker.pid] });
let cpu = cpuMicros();
process.on("message", (msg) => {
  if (msg.type === "mark") {
    cpu = cpuMicros();
    process.send({ type: "marked", rss: rss() });
  } else if (msg.type === "probe") {
    process.send({ type: "probe", cpuMicros: cpuMicros() - cpu, rss: rss() });
  }
});

// Two relay-node instances per broker: the publisher on instance 1, 100 subscribers on instance 2,
// so every message crosses the broker. The memory broker (one instance, both sides on it) is the
// baseline. Brokers whose server is not running are reported as such.
import { fork } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectMany, counter, now, percentile } from "./lib.mjs";
import { wirePeer } from "./targets.mjs";

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const PAD = "x".repeat(64);

const reachable = (port) =>
  new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => resolve(socket.destroy() || true));
    socket.once("error", () => resolve(false));
  });

function relayProcess(broker) {
  const child = fork(fileURLToPath(new URL("./servers/pubsubbud.mjs", import.meta.url)), {
    env: { ...process.env, ...(broker ? { PUBSUBBUD_BENCH_BROKER: broker } : {}) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = new Promise((resolve) =>
    child.once("message", (m) => m.type === "ready" && resolve(m.port)),
  );
  return { ready, stop: () => child.kill("SIGKILL") };
}

const brokers = [
  { name: "memory (one instance)", url: undefined, instances: 1 },
  { name: "redis", url: "redis://127.0.0.1:6379", port: 6379 },
  { name: "mqtt", url: "mqtt://127.0.0.1:1883", port: 1883 },
  { name: "kafka", url: "kafka://127.0.0.1:9092", port: 9092 },
  { name: "postgres", url: "postgres://postgres@127.0.0.1:5432/test", port: 5432 },
  { name: "nats", url: "nats://127.0.0.1:4222", port: 4222 },
  { name: "rabbitmq", url: "amqp://guest:guest@127.0.0.1:5672", port: 5672 },
  { name: "file", url: `file://${mkdtempSync(join(tmpdir(), "pubsubbud-bench-"))}` },
];

async function measure(broker) {
  const relays = Array.from({ length: broker.instances ?? 2 }, () => relayProcess(broker.url));
  try {
    const ports = await Promise.all(relays.map((r) => r.ready));
    const subscribers = 100;
    const messages = Math.round(2000 * SCALE);
    const subs = await connectMany(wirePeer, ports.at(-1), subscribers);
    const seen = counter(subscribers * messages);
    await Promise.all(subs.map((c) => c.subscribe("bench.cross", (d) => seen.record(d))));
    const pub = await wirePeer.connect(ports[0]);
    const start = now();
    const wave = 25;
    for (let sent = 0; sent < messages; ) {
      for (let j = 0; j < wave && sent < messages; j++, sent++)
        pub.publish("bench.cross", { t: now(), pad: PAD });
      await seen.until(sent * subscribers);
    }
    const seconds = (now() - start) / 1000;
    for (const c of [...subs, pub]) c.close();
    const latencies = seen.latencies.subarray(0, seen.count);
    return {
      perSecond: seen.count / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  } finally {
    for (const relay of relays) relay.stop();
  }
}

/** Runs the two-instance broker comparison; returns rows and markdown lines. */
export async function runBrokerBench() {
  const rows = {};
  const lines = [
    "### Across the broker: publisher on instance 1, 100 subscribers on instance 2, 2,000 messages",
    "",
    "| broker | deliveries/s | × memory | p50 ms | p99 ms |",
    "|---|---|---|---|---|",
  ];
  for (const broker of brokers) {
    if (broker.port && !(await reachable(broker.port))) {
      lines.push(`| ${broker.name} | not running | – | – | – |`);
      continue;
    }
    process.stderr.write(`brokers — ${broker.name}… `);
    rows[broker.name] = await measure(broker);
    process.stderr.write("done\n");
    const r = rows[broker.name];
    const base = rows["memory (one instance)"];
    lines.push(
      `| ${broker.name} | ${Math.round(r.perSecond).toLocaleString("en-US")} | ${base ? (r.perSecond / base.perSecond).toFixed(2) : "–"} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
    );
  }
  return { rows, lines };
}

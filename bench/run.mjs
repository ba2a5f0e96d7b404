// npm run bench: PubsubBud next to a minimal raw ws relay and Socket.IO, same workloads, one run.
// Each system runs in its own server process (CPU and RSS are measured there); this process is
// the load generator. Writes bench/results/latest.md and .json.
// Knobs: BENCH_SCALE=0.2 (quick run), BENCH_ONLY="raw ws,PubsubBud (wire)" (systems),
// BENCH_WORKLOADS=0,1 (workload indexes; 3 = connect storm, 4 = the workerd comparison: fan-out,
// fixed-rate latency, 1:1 and idle memory against a minimal DO broadcaster, BENCH_REPS
// interleaved repetitions, BENCH_WORKERD=fanOut,rate200,rate20,oneToOne,idle picks among them,
// 5 = two relay instances per broker, 6 = a slow consumer among 200, 7 = matching work per
// publish under the pattern budgets, 8 = a bystander's round trips under each attack), BENCH_PROFILE=1 (CPU profiles of
// the measured phase into bench/results/profiles/), BENCH_NODE_FLAGS="--max-semi-space-size=64".
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { connectMany, counter, now, percentile } from "./lib.mjs";
import { targets } from "./targets.mjs";
import { runAttackBench } from "./attacks.mjs";
import { runBrokerBench } from "./brokers.mjs";
import { runMatchingBench } from "./matching.mjs";
import { runWorkerdBench } from "./workerd.mjs";

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const only = process.env.BENCH_ONLY?.split(",");
const PAD = "x".repeat(64);

function startServer(file) {
  const child = fork(fileURLToPath(new URL(`./servers/${file}`, import.meta.url)), {
    execArgv: ["--expose-gc", ...(process.env.BENCH_NODE_FLAGS?.split(" ") ?? [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = (type) =>
    new Promise((resolve) => child.once("message", (m) => m.type === type && resolve(m)));
  return {
    ready: next("ready"),
    async mark() {
      child.send({ type: "mark" });
      return next("marked");
    },
    async probe() {
      child.send({ type: "probe" });
      return next("probe");
    },
    stop: () => child.kill("SIGKILL"),
  };
}

const workloads = [
  {
    name: "fan-out: 200 subscribers × 5,000 messages on one channel",
    async run(target, port) {
      const subscribers = 200;
      const messages = Math.round(5000 * SCALE);
      const wave = 25;
      const subs = await connectMany(target, port, subscribers);
      const seen = counter(subscribers * messages);
      await Promise.all(subs.map((c) => c.subscribe("bench.room", (d) => seen.record(d))));
      const pub = await target.connect(port);
      return {
        conns: [...subs, pub],
        seen,
        load: async () => {
          for (let sent = 0; sent < messages; ) {
            for (let j = 0; j < wave && sent < messages; j++, sent++)
              pub.publish("bench.room", { t: now(), pad: PAD });
            await seen.until(sent * subscribers);
          }
        },
      };
    },
  },
  {
    name: "1,000 connections on their own channels × 5 messages each",
    patterns: 0,
    async run(target, port) {
      return ownChannels(target, port, 0);
    },
  },
  {
    name: "the same + 100 `user.*` pattern subscribers",
    async run(target, port) {
      return ownChannels(target, port, 100);
    },
  },
];

/**
 * 200 subscribers of 1 KiB messages; with `slow`, one of them stops reading at once, so the
 * relay must buffer for it or cut it while the other 199 are measured.
 */
function slowConsumer(slow) {
  return {
    name: slow ? "1 of them stops reading" : "200 subscribers × 5,000 1-KiB messages",
    async run(target, port) {
      const subscribers = 200;
      const messages = Math.round(5000 * SCALE);
      const fast = slow ? subscribers - 1 : subscribers;
      const subs = await connectMany(target, port, subscribers);
      const seen = counter(fast * messages);
      await Promise.all(
        subs.map((c, i) => c.subscribe("bench.room", i < fast ? (d) => seen.record(d) : () => {})),
      );
      if (slow) subs[subscribers - 1].pause();
      const pub = await target.connect(port);
      const pad = "x".repeat(1024);
      return {
        conns: [...subs, pub],
        seen,
        load: async () => {
          for (let sent = 0; sent < messages; ) {
            for (let j = 0; j < 25 && sent < messages; j++, sent++)
              pub.publish("bench.room", { t: now(), pad });
            await seen.until(sent * fast);
          }
        },
      };
    },
  };
}

async function ownChannels(target, port, patternSubs) {
  const n = 1000;
  const rounds = Math.max(1, Math.round(5 * SCALE));
  const owners = await connectMany(target, port, n);
  const watchers = await connectMany(target, port, patternSubs);
  const perMessage = 1 + patternSubs;
  const seen = counter(n * rounds * perMessage);
  await Promise.all(owners.map((c, i) => c.subscribe(`user.${i}`, (d) => seen.record(d))));
  await Promise.all(watchers.map((c) => c.subscribe("user.*", (d) => seen.record(d))));
  const pub = await target.connect(port);
  return {
    conns: [...owners, ...watchers, pub],
    seen,
    load: async () => {
      let sent = 0;
      for (let r = 0; r < rounds; r++)
        for (let i = 0; i < n; i += 100) {
          for (let j = i; j < i + 100; j++, sent++)
            pub.publish(`user.${j}`, { t: now(), pad: PAD });
          await seen.until(sent * perMessage);
        }
    },
  };
}

async function measureWorkload(workload, target) {
  const server = startServer(target.server);
  const { port } = await server.ready;
  try {
    const { conns, seen, load } = await workload.run(target, port);
    await server.mark();
    const start = now();
    await load();
    const seconds = (now() - start) / 1000;
    const { cpuMicros, rss, slowConsumersCut } = await server.probe();
    for (const c of conns) c.close();
    const deliveries = seen.count;
    const latencies = seen.latencies.subarray(0, Math.min(deliveries, seen.latencies.length));
    return {
      deliveries,
      perSecond: deliveries / seconds,
      cpuPerDelivery: cpuMicros / deliveries,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      rss,
      slowConsumersCut,
    };
  } finally {
    server.stop();
  }
}

async function measureConnectStorm(target) {
  const n = 2000;
  const server = startServer(target.server);
  const { port } = await server.ready;
  try {
    const before = await server.mark();
    const start = now();
    const conns = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const c = await target.connect(port);
        await c.subscribe(`user.${i}`, () => {});
        return c;
      }),
    );
    const seconds = (now() - start) / 1000;
    const { cpuMicros, rss, heap } = await server.probe();
    for (const c of conns) c.close();
    return {
      connections: n,
      seconds,
      cpuPerConnection: cpuMicros / n,
      rssPerConnection: (rss - before.rss) / n,
      heapPerConnection: (heap - before.heap) / n,
    };
  } finally {
    server.stop();
  }
}

const chosen = targets.filter((t) => !only || only.includes(t.name));
const results = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  scale: SCALE,
  workloads: [],
  storm: {},
};
const fmt = (n, digits = 1) =>
  n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(digits);
const lines = [`Machine: ${results.machine}; scale ${SCALE}`, ""];

const onlyWorkloads = process.env.BENCH_WORKLOADS?.split(",").map(Number);
for (const [index, workload] of workloads.entries()) {
  if (onlyWorkloads && !onlyWorkloads.includes(index)) continue;
  const rows = {};
  for (const target of chosen) {
    process.stderr.write(`${workload.name} — ${target.name}… `);
    rows[target.name] = await measureWorkload(workload, target);
    process.stderr.write("done\n");
  }
  results.workloads.push({ name: workload.name, rows });
  const raw = rows["raw ws"];
  lines.push(
    `### ${workload.name}`,
    "",
    "| system | deliveries/s | relay CPU µs/delivery | × raw | p50 ms | p99 ms |",
    "|---|---|---|---|---|---|",
  );
  for (const [name, r] of Object.entries(rows))
    lines.push(
      `| ${name} | ${fmt(r.perSecond)} | ${r.cpuPerDelivery.toFixed(2)} | ${raw ? (r.cpuPerDelivery / raw.cpuPerDelivery).toFixed(2) : "–"} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
    );
  lines.push("");
}

const storm = !onlyWorkloads || onlyWorkloads.includes(3);
if (storm)
  lines.push(
    "### 2,000 clients connecting at once (each subscribes to its own channel)",
    "",
    "| system | time s | relay CPU µs/connection | × raw | RSS KiB/connection | × raw | heap KiB/connection | × raw |",
    "|---|---|---|---|---|---|---|---|",
  );
for (const target of storm ? chosen : []) {
  process.stderr.write(`connect storm — ${target.name}… `);
  results.storm[target.name] = await measureConnectStorm(target);
  process.stderr.write("done\n");
}
const rawStorm = results.storm["raw ws"];
for (const [name, r] of Object.entries(results.storm))
  lines.push(
    `| ${name} | ${r.seconds.toFixed(2)} | ${fmt(r.cpuPerConnection)} | ${rawStorm ? (r.cpuPerConnection / rawStorm.cpuPerConnection).toFixed(2) : "–"} | ${(r.rssPerConnection / 1024).toFixed(1)} | ${rawStorm ? (r.rssPerConnection / rawStorm.rssPerConnection).toFixed(2) : "–"} | ${(r.heapPerConnection / 1024).toFixed(1)} | ${rawStorm ? (r.heapPerConnection / rawStorm.heapPerConnection).toFixed(2) : "–"} |`,
  );

if (!onlyWorkloads || onlyWorkloads.includes(6)) {
  // Clients whose adapter cannot stop reading (PubsubBud's own client) sit this one out.
  const pausable = chosen.filter((t) => t.name !== "PubsubBud (client)");
  lines.push(
    "### slow consumer: 200 subscribers × 5,000 1-KiB messages, then the same with 1 that stops reading",
    "",
    "| system | p99 ms, all read | p99 ms of the 199, 1 stalled | × | deliveries/s, all read | deliveries/s, 1 stalled | relay RSS MiB after, 1 stalled | stalled one cut |",
    "|---|---|---|---|---|---|---|---|",
  );
  results.slowConsumer = {};
  for (const target of pausable) {
    process.stderr.write(`slow consumer — ${target.name}… `);
    const fast = await measureWorkload(slowConsumer(false), target);
    const slow = await measureWorkload(slowConsumer(true), target);
    results.slowConsumer[target.name] = { fast, slow };
    process.stderr.write("done\n");
    lines.push(
      `| ${target.name} | ${fast.p99.toFixed(2)} | ${slow.p99.toFixed(2)} | ${(slow.p99 / fast.p99).toFixed(2)} | ${fmt(fast.perSecond)} | ${fmt(slow.perSecond)} | ${(slow.rss / 2 ** 20).toFixed(0)} | ${slow.slowConsumersCut === undefined ? "never" : slow.slowConsumersCut ? "yes (4001)" : "no"} |`,
    );
  }
  lines.push("");
}

if (!onlyWorkloads || onlyWorkloads.includes(4)) {
  const workerd = await runWorkerdBench();
  results.workerd = workerd.rows;
  lines.push("", ...workerd.lines);
}

if (!onlyWorkloads || onlyWorkloads.includes(5)) {
  const brokers = await runBrokerBench();
  results.brokers = brokers.rows;
  lines.push("", ...brokers.lines);
}

if (!onlyWorkloads || onlyWorkloads.includes(7)) {
  const matching = runMatchingBench();
  results.matching = matching.rows;
  lines.push("", ...matching.lines);
}

if (!onlyWorkloads || onlyWorkloads.includes(8)) {
  const attacks = await runAttackBench(SCALE);
  results.attacks = attacks.rows;
  lines.push("", ...attacks.lines);
}

const report = lines.join("\n");
console.log(report);
const dir = fileURLToPath(new URL("./results/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}latest.md`, `${report}\n`);
writeFileSync(`${dir}latest.json`, JSON.stringify(results, null, 2));
process.exit(0);

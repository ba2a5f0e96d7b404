// npm run bench: PubsubBud next to a minimal raw ws relay, Socket.IO and Mosquitto (over TCP and,
// where scripts/bench/mosquitto-ws.sh has built it, over WebSocket), same workloads, one run. Each
// system runs in its own server process (CPU and RSS are measured there; Mosquitto's from /proc by
// its wrapper); this process is the load generator. Writes bench/results/latest.md
// (a summary table of ratios to raw ws first) and .json.
// The core workloads (0, 1, 2, 3 and 9) run in BENCH_REPS interleaved repetitions (default 3:
// rep 1 of every workload and system, then rep 2, …) and report each figure's median.
// Knobs: BENCH_SCALE=0.2 (quick run), BENCH_REPS=1, BENCH_ONLY="raw ws,PubsubBud (wire)" (systems;
// "ws + log (floor)" runs only when named),
// BENCH_WORKLOADS=0,1 (workload indexes; 3 = connect storm and idle memory, 9 = fixed rate
// 200 msg/s × 100 subscribers, 4 = the workerd comparison: fan-out,
// fixed-rate latency, 1:1 and idle memory against a minimal DO broadcaster, BENCH_REPS
// interleaved repetitions, BENCH_WORKERD=fanOut,rate200,rate20,oneToOne,idle picks among them,
// 5 = two relay instances per broker, 6 = a slow consumer among 200, 7 = matching work per
// publish under the pattern budgets, 8 = a bystander's round trips under each attack), BENCH_PROFILE=1 (CPU profiles of
// the measured phase into bench/results/profiles/), BENCH_NODE_FLAGS="--max-semi-space-size=64".
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { atRate, connectMany, counter, now, percentile } from "./lib.mjs";
import { targets } from "./targets.mjs";
import { runAttackBench } from "./attacks.mjs";
import { runBrokerBench } from "./brokers.mjs";
import { runMatchingBench } from "./matching.mjs";
import { runWorkerdBench } from "./workerd.mjs";

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const only = process.env.BENCH_ONLY?.split(",");
const PAD = "x".repeat(64);

function startServer(file, args = []) {
  const child = fork(fileURLToPath(new URL(`./servers/${file}`, import.meta.url)), args, {
    execArgv: ["--expose-gc", ...(process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = (type) =>
    new Promise((resolve) => child.once("message", (m) => m.type === type && resolve(m)));
  const ready = next("ready");
  return {
    ready,
    async mark() {
      child.send({ type: "mark" });
      return next("marked");
    },
    async probe() {
      child.send({ type: "probe" });
      return next("probe");
    },
    // A server that runs another process (Mosquitto) names its pid in `ready`: that goes first,
    // and the server, which reaps it, exits after it.
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const pids = (await ready).pids ?? [];
      for (const pid of pids) process.kill(pid, "SIGKILL");
      if (!pids.length) child.kill("SIGKILL");
      await exited;
    },
  };
}

/**
 * `subscribers` connections on "bench.room" and a publisher; the first `counted` subscribers'
 * deliveries are counted (the others subscribe with a handler that ignores them).
 */
async function room(target, port, subscribers, messages, counted = subscribers) {
  const subs = await connectMany(target, port, subscribers);
  const seen = counter(counted * messages);
  await Promise.all(
    subs.map((c, i) => c.subscribe("bench.room", i < counted ? (d) => seen.record(d) : () => {})),
  );
  const pub = await target.connect(port);
  return { subs, pub, seen, conns: [...subs, pub] };
}

/** Publishes `messages` in closed loop: a wave of 25, then wait until all of it is delivered. */
async function inWaves(pub, seen, messages, perMessage, data) {
  const base = seen.count;
  for (let sent = 0; sent < messages; ) {
    for (let j = 0; j < 25 && sent < messages; j++, sent++)
      pub.publish("bench.room", { t: now(), ...data });
    await seen.until(base + sent * perMessage);
  }
}

const workloads = [
  {
    name: "fan-out: 200 subscribers × 5,000 messages on one channel",
    warm: true,
    async run(target, port) {
      const messages = Math.round(5000 * SCALE);
      const { pub, seen, conns } = await room(target, port, 200, 2 * messages);
      return { conns, seen, load: () => inWaves(pub, seen, messages, 200, { pad: PAD }) };
    },
  },
  {
    name: "1,000 connections on their own channels × 5 messages each",
    warm: true,
    async run(target, port) {
      return ownChannels(target, port, 0);
    },
  },
  {
    name: "the same + 100 `user.*` pattern subscribers",
    warm: true,
    async run(target, port) {
      return ownChannels(target, port, 100);
    },
  },
];

/** Open loop: 200 messages a second for 10 s (× BENCH_SCALE) to 100 subscribers, each timed. */
const fixedRate = {
  name: "fixed rate: 200 msg/s × 100 subscribers on one channel",
  async run(target, port) {
    const subscribers = 100;
    const rate = 200;
    const messages = Math.round(rate * 10 * SCALE);
    const { pub, seen, conns } = await room(target, port, subscribers, messages);
    return {
      conns,
      seen,
      load: async () => {
        await atRate(rate, messages, () => pub.publish("bench.room", { t: now(), pad: PAD }));
        await seen.until(messages * subscribers);
      },
    };
  },
};

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
      const { subs, pub, seen, conns } = await room(target, port, subscribers, messages, fast);
      if (slow) subs[subscribers - 1].pause();
      const pad = "x".repeat(1024);
      return { conns, seen, load: () => inWaves(pub, seen, messages, fast, { pad }) };
    },
  };
}

async function ownChannels(target, port, patternSubs) {
  const n = 1000;
  const rounds = Math.max(1, Math.round(5 * SCALE));
  const owners = await connectMany(target, port, n);
  const watchers = await connectMany(target, port, patternSubs);
  const perMessage = 1 + patternSubs;
  // Room for the warm-up pass too.
  const seen = counter(2 * n * rounds * perMessage);
  await Promise.all(owners.map((c, i) => c.subscribe(`user.${i}`, (d) => seen.record(d))));
  await Promise.all(watchers.map((c) => c.subscribe("user.*", (d) => seen.record(d))));
  const pub = await target.connect(port);
  return {
    conns: [...owners, ...watchers, pub],
    seen,
    load: async () => {
      const base = seen.count;
      let sent = 0;
      for (let r = 0; r < rounds; r++)
        for (let i = 0; i < n; i += 100) {
          for (let j = i; j < i + 100; j++, sent++)
            pub.publish(`user.${j}`, { t: now(), pad: PAD });
          await seen.until(base + sent * perMessage);
        }
    },
  };
}

/** Runs `measure(server, port)` against a fresh server of `target`'s, stopped afterwards. */
async function withServer(target, measure) {
  const server = startServer(target.server, target.serverArgs);
  try {
    return await measure(server, (await server.ready).port);
  } finally {
    await server.stop();
  }
}

const measureWorkload = (workload, target) =>
  withServer(target, async (server, port) => {
    const { conns, seen, load } = await workload.run(target, port);
    // A throughput workload measures a relay that has been running: one uncounted pass first,
    // so every system's code is compiled (the connect storm measures a fresh process on purpose).
    if (workload.warm) await load();
    const warmed = seen.count;
    await server.mark();
    const start = now();
    await load();
    const seconds = (now() - start) / 1000;
    const { cpuMicros, rss, slowConsumersCut } = await server.probe();
    for (const c of conns) c.close();
    const deliveries = seen.count - warmed;
    const latencies = seen.latencies.subarray(warmed, Math.min(seen.count, seen.latencies.length));
    return {
      deliveries,
      perSecond: deliveries / seconds,
      cpuPerDelivery: cpuMicros / deliveries,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      rss,
      slowConsumersCut,
    };
  });

/**
 * 2,000 clients connect and subscribe at once; time and relay CPU until all are subscribed. A
 * connection refused or reset in the storm (a server's accept backlog can overflow) is tried
 * again, up to 3 times, as a client would: its time counts, and the retries are reported.
 */
const measureConnectStorm = (target) =>
  withServer(target, async (server, port) => {
    const n = 2000;
    let retried = 0;
    const connect = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await target.connect(port);
        } catch (error) {
          if (attempt > 3) throw error;
          retried++;
        }
      }
    };
    await server.mark();
    const start = now();
    const conns = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const c = await connect();
        await c.subscribe(`user.${i}`, () => {});
        return c;
      }),
    );
    const seconds = (now() - start) / 1000;
    const { cpuMicros } = await server.probe();
    for (const c of conns) c.close();
    return { connections: n, seconds, cpuPerConnection: cpuMicros / n, retried };
  });

/**
 * Memory per idle connection: 2,000 clients connect (100 at a time) and subscribe to a channel
 * each; once every subscription is acknowledged the server collects garbage (Node servers) and
 * reports its RSS. The growth over the fresh server's (also after a collection), ÷ 2,000.
 */
const measureIdle = (target) =>
  withServer(target, async (server, port) => {
    const n = 2000;
    const before = await server.mark();
    const conns = await connectMany(target, port, n);
    await Promise.all(conns.map((c, i) => c.subscribe(`idle.${i}`, () => {})));
    const { rss, heap, young } = await server.probe();
    // The next 2,000, the same way: what a connection adds once the young generation has grown.
    const more = await connectMany(target, port, n);
    await Promise.all(more.map((c, i) => c.subscribe(`idle.${n + i}`, () => {})));
    const after = await server.probe();
    for (const c of [...conns, ...more]) c.close();
    return {
      connections: n,
      rssPerConnection: (rss - before.rss) / n,
      heapPerConnection: (heap - before.heap) / n,
      youngPerConnection: (young - before.young) / n,
      rssPerConnectionAt4000: (after.rss - before.rss) / (2 * n),
      rssPerNextConnection: (after.rss - rss) / n,
      heapPerNextConnection: (after.heap - heap) / n,
    };
  });

const wanted = targets.filter((t) => (only ? only.includes(t.name) : !t.optIn));
// A system this machine cannot run (Mosquitto (WS) without its build) is skipped, and says so.
const skipped = wanted.filter((t) => t.missing).map((t) => `${t.name} skipped: ${t.missing}.`);
for (const note of skipped) process.stderr.write(`${note}\n`);
const chosen = wanted.filter((t) => !t.missing);
const onlyWorkloads = process.env.BENCH_WORKLOADS?.split(",").map(Number);
const picked = (index) => !onlyWorkloads || onlyWorkloads.includes(index);
const loadBefore = loadavg();

// The interleaved core: rep 1 of every measurement on every system, then rep 2, …
const core = [
  { key: "fanOut", index: 0, measure: (t) => measureWorkload(workloads[0], t) },
  { key: "oneToOne", index: 1, measure: (t) => measureWorkload(workloads[1], t) },
  { key: "patterns", index: 2, measure: (t) => measureWorkload(workloads[2], t) },
  { key: "rate200", index: 9, measure: (t) => measureWorkload(fixedRate, t) },
  { key: "idle", index: 3, measure: measureIdle },
  { key: "storm", index: 3, measure: measureConnectStorm },
].filter((m) => picked(m.index));
const samples = Object.fromEntries(
  core.map((m) => [m.key, Object.fromEntries(chosen.map((t) => [t.name, []]))]),
);
for (let rep = 1; rep <= REPS; rep++)
  for (const m of core)
    for (const target of chosen) {
      process.stderr.write(`rep ${rep}/${REPS}: ${m.key} — ${target.name}… `);
      const result = await m.measure(target);
      samples[m.key][target.name].push(result);
      process.stderr.write(`${JSON.stringify(result)}\n`);
    }

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[Math.floor(mid)];
};
/** Each numeric field's median over the repetitions. */
const medians = (runs) =>
  Object.fromEntries(
    Object.keys(runs[0])
      .filter((f) => typeof runs[0][f] === "number")
      .map((f) => [f, median(runs.map((r) => r[f]))]),
  );
/** key → system → medians. */
const figures = Object.fromEntries(
  Object.entries(samples).map(([key, bySystem]) => [
    key,
    Object.fromEntries(Object.entries(bySystem).map(([name, runs]) => [name, medians(runs)])),
  ]),
);

const results = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  scale: SCALE,
  reps: REPS,
  loadAverage: { before: loadBefore, after: loadavg() },
  medians: figures,
  samples,
};
const fmt = (n, digits = 1) =>
  n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(digits);
const times = (a, b) => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : "–");
const load = (l) => l.map((x) => x.toFixed(1)).join(" ");
const lines = [
  `Machine: ${results.machine}; scale ${SCALE}; ${REPS} interleaved rep${REPS === 1 ? "" : "s"}, medians; load average ${load(loadBefore)} before, ${load(results.loadAverage.after)} after`,
  ...skipped,
  "",
];

// The summary: each system ÷ raw ws on the headline measure of each core workload.
const cpu = { measure: "relay CPU µs/delivery", value: (r) => r.cpuPerDelivery };
const summary = [
  { key: "fanOut", name: "fan-out, 200 subscribers", ...cpu, hold: true },
  // Declined by decision: the guarantees alone cost more (docs/performance.md, "The 1:1 target").
  {
    key: "oneToOne",
    name: "1:1, 1,000 connections on own channels",
    ...cpu,
    target: 1.0,
    declined: true,
  },
  { key: "patterns", name: "1:1 + 100 `user.*` pattern subscribers", ...cpu, hold: true },
  { key: "rate200", name: "200 msg/s × 100 subscribers", measure: "p99 ms", value: (r) => r.p99 },
  {
    key: "idle",
    name: "RSS per idle connection (2,000)",
    measure: "KiB/connection",
    value: (r) => r.rssPerConnection / 1024,
    target: 1.0,
  },
  {
    key: "storm",
    name: "2,000-client connect storm until all subscribed",
    measure: "s to all subscribed",
    value: (r) => r.seconds,
    target: 1.3,
  },
  {
    key: "storm",
    name: "(the same)",
    measure: "relay CPU µs/connection",
    value: (r) => r.cpuPerConnection,
    target: 1.3,
  },
];
const columns = [
  "PubsubBud (wire)",
  "PubsubBud (client)",
  "Socket.IO",
  "Mosquitto",
  "Mosquitto (WS)",
];
if (core.length) {
  lines.push(
    `## Summary: × raw ws (lower is better), medians of ${REPS} interleaved rep${REPS === 1 ? "" : "s"}`,
    "",
    `| workload | measure | raw ws | ${columns.join(" | ")} | target | PubsubBud (wire) |`,
    `|---|---|---|${columns.map(() => "---|").join("")}---|---|`,
  );
  for (const row of summary) {
    const bySystem = figures[row.key];
    if (!bySystem) continue;
    const value = (name) => (bySystem[name] ? row.value(bySystem[name]) : undefined);
    const raw = value("raw ws");
    const wire = value("PubsubBud (wire)");
    const met =
      row.target === undefined || wire === undefined || !raw
        ? "–"
        : wire / raw <= row.target
          ? "met"
          : row.declined
            ? "**not met**, declined"
            : "**not met**";
    const target =
      row.target !== undefined ? `≤ ${row.target.toFixed(1)}×` : row.hold ? "hold" : "–";
    // With several reps, the range of the per-rep ratios (each system ÷ raw ws in the same rep).
    const spread = (name) => {
      const runs = samples[row.key][name];
      const base = samples[row.key]["raw ws"];
      if (REPS < 2 || !runs || !base) return "";
      const ratios = runs.map((r, i) => row.value(r) / row.value(base[i]));
      return ` (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
    };
    const cells = columns.map((name) => times(value(name), raw) + spread(name));
    lines.push(
      `| ${row.name} | ${row.measure} | ${raw === undefined ? "–" : fmt(raw, 2)} | ${cells.join(" | ")} | ${target} | ${met} |`,
    );
  }
  lines.push(
    "",
    "raw ws: a minimal `ws` relay that parses each publish once and forwards its bytes unchanged (bench/servers/raw-ws.mjs); its column is the absolute figure. " +
      "Mosquitto 2.0.11 (C), its own instance per measurement, is spoken to in MQTT 3.1.1 (QoS 0, clean session; `user.*` is `user/+`): Mosquitto over plain TCP (Debian's binary), Mosquitto (WS) over WebSocket like every other system (the same source with a libwebsockets that has external poll, from scripts/bench/mosquitto-ws.sh). Its CPU and RSS are the mosquitto process's, from /proc. " +
      '"hold": not to be given back. Ratios divide medians; in brackets, the range of the per-rep ratios. Latency includes the load side\'s client library (mqtt.js for Mosquitto).',
    "",
  );
}

const workloadTable = (key, name) => {
  const rows = figures[key];
  if (!rows) return;
  const raw = rows["raw ws"];
  lines.push(
    `### ${name}`,
    "",
    "| system | deliveries/s | relay CPU µs/delivery | × raw | p50 ms | p99 ms | × raw |",
    "|---|---|---|---|---|---|---|",
  );
  for (const [system, r] of Object.entries(rows))
    lines.push(
      `| ${system} | ${fmt(r.perSecond)} | ${r.cpuPerDelivery.toFixed(2)} | ${times(r.cpuPerDelivery, raw?.cpuPerDelivery)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${times(r.p99, raw?.p99)} |`,
    );
  lines.push("");
};
for (const [i, key] of ["fanOut", "oneToOne", "patterns"].entries())
  workloadTable(key, workloads[i].name);
workloadTable("rate200", fixedRate.name);

const kib = (bytes) => (Number.isNaN(bytes) ? "–" : (bytes / 1024).toFixed(1));
if (figures.idle) {
  const raw = figures.idle["raw ws"];
  lines.push(
    "### 2,000 idle connections, one subscription each (connected 100 at a time), then 2,000 more",
    "",
    "| system | RSS KiB/connection | × raw | heap KiB/connection | × raw | young generation KiB/connection | RSS at 4,000 KiB/connection | × raw | RSS of the next 2,000 KiB/connection | × raw | heap of the next 2,000 KiB/connection | × raw |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  const heapTimes = (value, base) => (Number.isNaN(value) ? "–" : times(value, base));
  for (const [name, r] of Object.entries(figures.idle))
    lines.push(
      `| ${name} | ${kib(r.rssPerConnection)} | ${times(r.rssPerConnection, raw?.rssPerConnection)} | ${kib(r.heapPerConnection)} | ${heapTimes(r.heapPerConnection, raw?.heapPerConnection)} | ${kib(r.youngPerConnection)} | ${kib(r.rssPerConnectionAt4000)} | ${times(r.rssPerConnectionAt4000, raw?.rssPerConnectionAt4000)} | ${kib(r.rssPerNextConnection)} | ${times(r.rssPerNextConnection, raw?.rssPerNextConnection)} | ${kib(r.heapPerNextConnection)} | ${heapTimes(r.heapPerNextConnection, raw?.heapPerNextConnection)} |`,
    );
  lines.push(
    "",
    "Heap: V8's live heap after a collection. Young generation: the resident part of V8's new space, grown by the burst of handshakes and kept after the collection; it is most of what RSS adds beyond the heap, and moves from run to run. It stops growing at V8's limit: the next 2,000 connections (connected and subscribed the same way) add what a connection costs beyond it.",
  );
  lines.push("");
}
if (figures.storm) {
  const raw = figures.storm["raw ws"];
  lines.push(
    "### 2,000 clients connecting at once (each subscribes to its own channel)",
    "",
    "| system | time s | × raw | relay CPU µs/connection | × raw | connects retried (median) |",
    "|---|---|---|---|---|---|",
  );
  for (const [name, r] of Object.entries(figures.storm))
    lines.push(
      `| ${name} | ${r.seconds.toFixed(2)} | ${times(r.seconds, raw?.seconds)} | ${fmt(r.cpuPerConnection)} | ${times(r.cpuPerConnection, raw?.cpuPerConnection)} | ${r.retried} |`,
    );
  lines.push("");
}

if (picked(6)) {
  // Clients whose adapter cannot stop reading (PubsubBud's own client, mqtt.js) sit this one out.
  const pausable = chosen.filter((t) => t.pausable !== false);
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

if (picked(4)) {
  const workerd = await runWorkerdBench();
  results.workerd = workerd.rows;
  lines.push("", ...workerd.lines);
}

if (picked(5)) {
  const brokers = await runBrokerBench();
  results.brokers = brokers.rows;
  lines.push("", ...brokers.lines);
}

if (picked(7)) {
  const matching = runMatchingBench();
  results.matching = matching.rows;
  lines.push("", ...matching.lines);
}

if (picked(8)) {
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

// The workerd part of `npm run bench`: PubsubBud's Durable Object relay next to a minimal
// hibernating Durable Object broadcaster (bench/servers/broadcaster-worker.mjs), both in
// Miniflare's local workerd, on the same workloads, in interleaved repetitions (BENCH_REPS,
// default 3; the medians are reported). CPU is the workerd process's (user + system, /proc);
// memory its resident set (VmRSS).
//   fan-out:    one channel, 200 subscribers, waves of 25 messages as fast as they go
//   fixed rate: one channel, 100 subscribers, 20 and 200 messages a second, latency p50/p99
//   1:1:        1,000 connections, each subscribed to its own channel and publishing on it
//   idle:       2,000 connections with one subscription each, doing nothing: memory each
// BENCH_WORKERD_STORAGE=tmpfs: storage on /dev/shm, no disk latency (see withWorker).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { connectMany, counter, now, percentile } from "./lib.mjs";

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const PAD = "x".repeat(64);
const file = (path) => fileURLToPath(new URL(path, import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const opened = (ws) =>
  new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });

/** A peer of either system: subscribe(channel, handler) resolves once it is confirmed. */
const systems = [
  {
    name: "minimal hibernating DO broadcaster",
    worker: {
      scriptPath: file("./servers/broadcaster-worker.mjs"),
      durableObjects: { ROOM: { className: "Room", useSQLite: true } },
    },
    async connect(port) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      await opened(ws);
      const handlers = new Map();
      let ready = () => {};
      ws.on("message", (raw) => {
        const frame = JSON.parse(raw);
        if (frame.s !== undefined) ready();
        else handlers.get(frame.c)?.(frame.d);
      });
      return {
        subscribe(channel, handler) {
          handlers.set(channel, handler);
          ws.send(JSON.stringify({ s: channel }));
          return new Promise((resolve) => {
            ready = resolve;
          });
        },
        publish: (channel, data) => ws.send(JSON.stringify({ c: channel, d: data })),
        close: () => ws.terminate(),
      };
    },
  },
  {
    name: "PubsubBud relay-worker",
    worker: {
      scriptPath: file(
        process.env.BENCH_WORKER_SCRIPT ?? "../packages/relay-worker/dist/worker.js",
      ),
      durableObjects: { NAMESPACES: { className: "NamespaceObject", useSQLite: true } },
      // The bench measures delivery, not auth or the flood limiters: open, no publish rate limit.
      bindings: {
        ANONYMOUS: "all",
        PUBLISH_RATE_PER_SECOND: "1000000000",
        PUBLISH_BURST: "1000000000",
        MAX_CONNECTIONS_PER_IP: "100000",
      },
    },
    async connect(port) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ns/bench`, "pubsubbud.v1", {
        perMessageDeflate: false,
      });
      await opened(ws);
      ws.send(
        JSON.stringify({
          type: "hello",
          client: `bench-${Math.random().toString(36).slice(2, 14)}`,
        }),
      );
      const handlers = new Map();
      let ready = () => {};
      let next = 0;
      let received = 0;
      let credited = 0;
      const handle = (frame) => {
        if (frame.type === "message") handlers.get(frame.channel)?.(frame.data);
        else if (frame.type === "subscribed") ready();
      };
      ws.on("message", (raw) => {
        const text = String(raw);
        // Receive credit, as the client library sends it (docs/protocol.md "Receive credit").
        received += text.length;
        if (received - credited >= 512 * 1024) {
          credited = received;
          ws.send(JSON.stringify({ type: "ping", rx: received }));
        }
        const parsed = JSON.parse(text);
        if (Array.isArray(parsed)) for (const frame of parsed) handle(frame);
        else handle(parsed);
      });
      return {
        subscribe(channel, handler) {
          handlers.set(channel, handler);
          ws.send(JSON.stringify({ type: "subscribe", id: `s${++next}`, pattern: channel }));
          return new Promise((resolve) => {
            ready = resolve;
          });
        },
        publish: (channel, data) =>
          ws.send(
            JSON.stringify({ type: "publish", id: `p${++next}-${Math.random()}`, channel, data }),
          ),
        close: () => ws.terminate(),
      };
    },
  },
];

/** The pids of this process's workerd children. */
const workerdPids = () =>
  execFileSync("pgrep", ["-P", String(process.pid), "workerd"], { encoding: "utf8" })
    .trim()
    .split("\n")
    .filter(Boolean);

/** CPU seconds (user + system) of this process's workerd children, from /proc. */
function workerdCpuSeconds() {
  const ticks = workerdPids().reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return sum + Number(fields[11]) + Number(fields[12]);
  }, 0);
  return ticks / 100;
}

/** Resident bytes of this process's workerd children. */
const workerdRss = () =>
  workerdPids().reduce((sum, pid) => {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return sum + Number(kb) * 1024;
  }, 0);

// BENCH_WORKERD_STORAGE=tmpfs puts Durable Object storage (SQLite files) on /dev/shm instead of
// the local disk Miniflare uses by default: a commit's fsync then returns at once, which shows
// what relay-worker adds apart from its storage's latency. (On Cloudflare a commit waits for
// replicated storage instead, measured by neither.) docs/performance.md's figures use the disk.
const tmpfs = process.env.BENCH_WORKERD_STORAGE === "tmpfs";

async function withWorker(system, run) {
  const storage = tmpfs ? mkdtempSync("/dev/shm/bench-workerd-") : undefined;
  const worker = new Miniflare({
    modules: true,
    compatibilityDate: "2026-04-01",
    cf: false,
    host: "127.0.0.1",
    port: 0,
    ...(storage ? { durableObjectsPersist: storage } : {}),
    ...system.worker,
  });
  const port = Number((await worker.ready).port);
  try {
    return await run(port);
  } finally {
    await worker.dispose();
    if (storage) rmSync(storage, { recursive: true, force: true });
  }
}

/** Subscribers of one channel and a publisher; `drive(pub)` publishes, `seen` counts deliveries. */
async function oneChannel(system, port, subscribers, drive) {
  const subs = await connectMany({ connect: () => system.connect(port) }, port, subscribers, 50);
  const seen = counter(subscribers * 100_000);
  await Promise.all(subs.map((c) => c.subscribe("bench.room", (d) => seen.record(d))));
  const pub = await system.connect(port);
  const result = await measured(seen, () => drive(pub, seen));
  for (const c of [...subs, pub]) c.close();
  return result;
}

/** Runs `drive` and reports its deliveries: rate, workerd CPU per delivery, latency p50/p99. */
async function measured(seen, drive) {
  const cpuBefore = workerdCpuSeconds();
  const start = now();
  await drive();
  const seconds = (now() - start) / 1000;
  const cpu = workerdCpuSeconds() - cpuBefore;
  const latencies = seen.latencies.subarray(0, seen.count);
  return {
    perSecond: seen.count / seconds,
    cpuPerDelivery: (cpu * 1e6) / seen.count,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

const fanOut = (system, port) => {
  const subscribers = 200;
  const messages = Math.round(2000 * SCALE);
  return oneChannel(system, port, subscribers, async (pub, seen) => {
    for (let sent = 0; sent < messages; ) {
      for (let j = 0; j < 25 && sent < messages; j++, sent++)
        pub.publish("bench.room", { t: now(), pad: PAD });
      await seen.until(sent * subscribers);
    }
  });
};

/** `rate` messages a second for 10 s (× BENCH_SCALE), each timed from its send. */
const fixedRate = (rate) => (system, port) => {
  const subscribers = 100;
  const messages = Math.round(rate * 10 * SCALE);
  return oneChannel(system, port, subscribers, async (pub, seen) => {
    const start = now();
    for (let sent = 0; sent < messages; sent++) {
      const due = start + (sent * 1000) / rate;
      if (due > now()) await sleep(due - now());
      pub.publish("bench.room", { t: now(), pad: PAD });
    }
    await seen.until(messages * subscribers);
  });
};

/** 1,000 connections, each on its own channel, each publishing 20 messages to itself. */
async function oneToOne(system, port) {
  const n = 1000;
  const rounds = Math.round(20 * SCALE);
  const peers = await connectMany({ connect: () => system.connect(port) }, port, n, 50);
  const seen = counter(n * rounds);
  await Promise.all(peers.map((p, i) => p.subscribe(`own.${i}`, (d) => seen.record(d))));
  const result = await measured(seen, async () => {
    for (let round = 1; round <= rounds; round++) {
      for (const [i, p] of peers.entries()) p.publish(`own.${i}`, { t: now(), pad: PAD });
      await seen.until(round * n);
    }
  });
  for (const p of peers) p.close();
  return result;
}

/** Resident memory per idle connection (one subscription each), past one connected peer. */
async function idle(system, port) {
  const n = 2000;
  const first = await system.connect(port);
  await first.subscribe("idle.0", () => {});
  await sleep(500);
  const before = workerdRss();
  const peers = await connectMany({ connect: () => system.connect(port) }, port, n, 100);
  await Promise.all(peers.map((p, i) => p.subscribe(`idle.${i + 1}`, () => {})));
  await sleep(1000);
  const bytes = (workerdRss() - before) / n;
  for (const p of [first, ...peers]) p.close();
  return { bytesPerConnection: bytes };
}

const workloads = [
  { key: "fanOut", name: "fan-out, 200 subscribers, max rate", run: fanOut },
  { key: "rate200", name: "fixed rate 200 msg/s × 100 subscribers", run: fixedRate(200) },
  { key: "rate20", name: "fixed rate 20 msg/s × 100 subscribers", run: fixedRate(20) },
  { key: "oneToOne", name: "1,000 connections on own channels", run: oneToOne },
  { key: "idle", name: "2,000 idle connections", run: idle },
];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs the workerd comparison (BENCH_WORKERD=key,… picks workloads) and returns its table. */
export async function runWorkerdBench() {
  const picked = process.env.BENCH_WORKERD?.split(",");
  const chosen = workloads.filter((w) => !picked || picked.includes(w.key));
  const samples = Object.fromEntries(
    chosen.map((w) => [w.key, Object.fromEntries(systems.map((s) => [s.name, []]))]),
  );
  for (let rep = 1; rep <= REPS; rep++)
    for (const workload of chosen)
      for (const system of systems) {
        process.stderr.write(`workerd rep ${rep}: ${workload.key} — ${system.name}… `);
        const result = await withWorker(system, (port) => workload.run(system, port));
        samples[workload.key][system.name].push(result);
        process.stderr.write(`${JSON.stringify(result)}\n`);
      }
  // Each field's median over the repetitions, per workload and system.
  const medians = (runs) =>
    Object.fromEntries(Object.keys(runs[0]).map((f) => [f, median(runs.map((r) => r[f]))]));
  const rows = Object.fromEntries(
    Object.entries(samples).map(([key, bySystem]) => [
      key,
      Object.fromEntries(Object.entries(bySystem).map(([name, runs]) => [name, medians(runs)])),
    ]),
  );
  const [base, relay] = systems.map((s) => s.name);
  const lines = [
    `### workerd (Miniflare, Durable Object storage ${tmpfs ? "on tmpfs" : "on disk"}): relay-worker ÷ minimal broadcaster, medians of ${REPS} interleaved reps`,
    "",
    "| workload | broadcaster | relay-worker | relay ÷ broadcaster |",
    "|---|---|---|---|",
  ];
  const cell = (r) =>
    r.bytesPerConnection !== undefined
      ? `${(r.bytesPerConnection / 1024).toFixed(0)} KiB/conn`
      : `${r.cpuPerDelivery.toFixed(1)} µs CPU/delivery, p50 ${r.p50.toFixed(1)} / p99 ${r.p99.toFixed(1)} ms, ${Math.round(r.perSecond).toLocaleString("en-US")}/s`;
  const ratio = (a, b) =>
    b.bytesPerConnection !== undefined
      ? `memory ${(a.bytesPerConnection / b.bytesPerConnection).toFixed(2)}×`
      : `CPU ${(a.cpuPerDelivery / b.cpuPerDelivery).toFixed(2)}×, p99 ${(a.p99 / b.p99).toFixed(2)}×`;
  for (const workload of chosen) {
    const b = rows[workload.key][base];
    const r = rows[workload.key][relay];
    lines.push(`| ${workload.name} | ${cell(b)} | ${cell(r)} | ${ratio(r, b)} |`);
  }
  return { rows, lines };
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  console.log((await runWorkerdBench()).lines.join("\n"));

// The workerd part of `npm run bench`: one namespace with 200 subscribers, in Miniflare (local
// workerd), PubsubBud's Durable Object relay next to a minimal hibernating Durable Object
// broadcaster on the same workload. CPU is the workerd process's (user + system, /proc).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { connectMany, counter, now, percentile } from "./lib.mjs";

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const PAD = "x".repeat(64);
const file = (path) => fileURLToPath(new URL(path, import.meta.url));

const opened = (ws) =>
  new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });

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
      let onMessage = () => {};
      ws.on("message", (raw) => onMessage(JSON.parse(raw).d));
      return {
        subscribe: async (handler) => {
          onMessage = handler;
        },
        publish: (data) => ws.send(JSON.stringify({ c: "bench.room", d: data })),
        close: () => ws.terminate(),
      };
    },
  },
  {
    name: "PubsubBud relay-worker",
    worker: {
      scriptPath: file("../packages/relay-worker/dist/worker.js"),
      durableObjects: { NAMESPACES: { className: "NamespaceObject", useSQLite: true } },
      // The bench measures delivery, not auth or the flood limiter: open, no publish rate limit.
      bindings: {
        ANONYMOUS: "all",
        PUBLISH_RATE_PER_SECOND: "1000000000",
        PUBLISH_BURST: "1000000000",
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
      let onMessage = () => {};
      let ready = () => {};
      let next = 0;
      const handle = (frame) => {
        if (frame.type === "message") onMessage(frame.data);
        else if (frame.type === "subscribed") ready();
      };
      ws.on("message", (raw) => {
        const parsed = JSON.parse(raw);
        if (Array.isArray(parsed)) for (const frame of parsed) handle(frame);
        else handle(parsed);
      });
      return {
        subscribe(handler) {
          onMessage = handler;
          ws.send(JSON.stringify({ type: "subscribe", id: "s", pattern: "bench.room" }));
          return new Promise((resolve) => {
            ready = resolve;
          });
        },
        publish: (data) =>
          ws.send(
            JSON.stringify({
              type: "publish",
              id: `p${++next}-${Math.random()}`,
              channel: "bench.room",
              data,
            }),
          ),
        close: () => ws.terminate(),
      };
    },
  },
];

/** CPU seconds (user + system) of this process's workerd children, from /proc. */
function workerdCpuSeconds() {
  const pids = execFileSync("pgrep", ["-P", String(process.pid), "workerd"], { encoding: "utf8" })
    .trim()
    .split("\n")
    .filter(Boolean);
  const ticks = pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return sum + Number(fields[11]) + Number(fields[12]);
  }, 0);
  return ticks / 100;
}

async function measure(system) {
  const worker = new Miniflare({
    modules: true,
    compatibilityDate: "2026-04-01",
    cf: false,
    host: "127.0.0.1",
    port: 0,
    ...system.worker,
  });
  const port = Number((await worker.ready).port);
  try {
    const subscribers = 200;
    const messages = Math.round(2000 * SCALE);
    const wave = 25;
    const subs = await connectMany({ connect: () => system.connect(port) }, port, subscribers, 50);
    const seen = counter(subscribers * messages);
    await Promise.all(subs.map((c) => c.subscribe((d) => seen.record(d))));
    const pub = await system.connect(port);
    const cpuBefore = workerdCpuSeconds();
    const start = now();
    for (let sent = 0; sent < messages; ) {
      for (let j = 0; j < wave && sent < messages; j++, sent++) pub.publish({ t: now(), pad: PAD });
      await seen.until(sent * subscribers);
    }
    const seconds = (now() - start) / 1000;
    const cpu = workerdCpuSeconds() - cpuBefore;
    for (const c of [...subs, pub]) c.close();
    const latencies = seen.latencies.subarray(0, seen.count);
    return {
      perSecond: seen.count / seconds,
      cpuPerDelivery: (cpu * 1e6) / seen.count,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  } finally {
    await worker.dispose();
  }
}

/** Runs the workerd comparison and returns its Markdown table lines. */
export async function runWorkerdBench() {
  const rows = {};
  for (const system of systems) {
    process.stderr.write(`workerd: ${system.name}… `);
    rows[system.name] = await measure(system);
    process.stderr.write("done\n");
  }
  const base = rows[systems[0].name];
  const lines = [
    `### workerd (Miniflare): one namespace, 200 subscribers × ${Math.round(2000 * SCALE).toLocaleString("en-US")} messages`,
    "",
    "| system | deliveries/s | workerd CPU µs/delivery | × baseline | p50 ms | p99 ms |",
    "|---|---|---|---|---|---|",
  ];
  for (const [name, r] of Object.entries(rows))
    lines.push(
      `| ${name} | ${Math.round(r.perSecond).toLocaleString("en-US")} | ${r.cpuPerDelivery.toFixed(2)} | ${(r.cpuPerDelivery / base.cpuPerDelivery).toFixed(2)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
    );
  return { rows, lines };
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  console.log((await runWorkerdBench()).lines.join("\n"));

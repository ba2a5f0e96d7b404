// Shared by the bench servers: report the port, then answer CPU/RSS probes over IPC; and the raw
// relays' index of sockets by channel.
// With BENCH_PROFILE set, the measured phase (mark → probe) is CPU-profiled into
// bench/results/profiles/<server>-<pid>.cpuprofile.
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { basename } from "node:path";
import { getHeapSpaceStatistics } from "node:v8";

/**
 * Resident bytes of V8's young generation: it grows while many objects outlive a scavenge (a
 * burst of handshakes) and stays grown after a collection, so it explains much of an RSS figure.
 */
const youngGeneration = () =>
  getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.physical_space_size ??
  0;

export function serve(port, counters = () => ({})) {
  const profiling = process.env.BENCH_PROFILE ? new Session() : undefined;
  profiling?.connect();
  process.send({ type: "ready", port });
  let cpu = process.cpuUsage();
  process.on("message", async (msg) => {
    if (msg.type === "mark") {
      globalThis.gc?.();
      if (profiling) {
        await profiling.post("Profiler.enable");
        await profiling.post("Profiler.start");
      }
      cpu = process.cpuUsage();
      process.send({
        type: "marked",
        rss: process.memoryUsage.rss(),
        heap: process.memoryUsage().heapUsed,
        young: youngGeneration(),
      });
    } else if (msg.type === "probe") {
      const used = process.cpuUsage(cpu);
      if (profiling) {
        const { profile } = await profiling.post("Profiler.stop");
        const dir = new URL("../results/profiles/", import.meta.url);
        mkdirSync(dir, { recursive: true });
        writeFileSync(
          new URL(`${basename(process.argv[1], ".mjs")}-${process.pid}.cpuprofile`, dir),
          JSON.stringify(profile),
        );
      }
      globalThis.gc?.();
      process.send({
        type: "probe",
        cpuMicros: used.user + used.system,
        rss: process.memoryUsage.rss(),
        heap: process.memoryUsage().heapUsed,
        young: youngGeneration(),
        ...counters(),
      });
    }
  });
}

/**
 * The raw relays' (raw-ws.mjs, ws-log.mjs) subscriptions: sockets by exact channel, plus prefix
 * wildcards ("user.*") so the pattern workload has an equivalent.
 */
export class SocketIndex {
  #channels = new Map();
  #prefixes = new Map();

  add(ws, pattern) {
    const wildcard = pattern.endsWith("*");
    const map = wildcard ? this.#prefixes : this.#channels;
    const key = wildcard ? pattern.slice(0, -1) : pattern;
    if (!map.has(key)) map.set(key, new Set());
    map.get(key).add(ws);
  }

  /** The sockets a message on `channel` goes to, each once. */
  targets(channel) {
    const targets = new Set(this.#channels.get(channel));
    for (const [prefix, set] of this.#prefixes)
      if (channel.startsWith(prefix)) for (const s of set) targets.add(s);
    return targets;
  }

  remove(ws) {
    for (const set of this.#channels.values()) set.delete(ws);
    for (const set of this.#prefixes.values()) set.delete(ws);
  }
}

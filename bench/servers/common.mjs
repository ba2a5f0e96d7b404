// Shared by the bench servers: report the port, then answer CPU/RSS probes over IPC.
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

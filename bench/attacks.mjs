// Workload 8 of npm run bench: a bystander's round trips on relay-node (all defaults) while each
// attack of issue 15 runs in its own process (docs/security.md, "Threat model"). Reports the
// bystander's ping p50/p99 and the relay's RSS per attack, next to no attack at all.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { percentile } from "./lib.mjs";

const here = (file) => fileURLToPath(new URL(`./attacks/${file}`, import.meta.url));
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ATTACKS = ["none", "matcher", "flood", "replay", "slowloris", "http"];

function child(file, args = []) {
  const proc = fork(here(file), args, { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const next = (type) =>
    new Promise((resolve) => proc.on("message", (m) => m.type === type && resolve(m)));
  return { proc, next };
}

/**
 * Round trips of one bystander connection: `count` pings, one every 10 ms. From another loopback
 * address than the attackers', as another user would be (per-address limits are not its problem).
 */
async function bystanderRtts(port, count) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ns/bystander`, "pubsubbud.v1", {
    localAddress: "127.0.0.2",
  });
  await new Promise((resolve) => ws.on("open", resolve));
  ws.send(JSON.stringify({ type: "hello", client: "bystander-bench-1" }));
  await new Promise((resolve) => ws.once("message", resolve));
  const rtts = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const pong = new Promise((resolve) => ws.once("message", resolve));
    ws.send('{"type":"ping"}');
    await Promise.race([pong, pause(10_000)]);
    rtts.push(performance.now() - start);
    await pause(10);
  }
  ws.close();
  return rtts;
}

export async function runAttackBench(scale = 1) {
  const lines = [
    "### a bystander's round trips under each attack (relay-node, all defaults, memory broker)",
    "",
    "| attack | bystander ping p50 ms | p99 ms | relay RSS MiB after |",
    "|---|---|---|---|",
  ];
  const rows = [];
  for (const attack of ATTACKS) {
    const relay = child("relay.mjs");
    const { port } = await relay.next("ready");
    const attacker = attack === "none" ? undefined : child("attacker.mjs", [String(port), attack]);
    if (attacker) await attacker.next("started");
    await pause(1_000); // let the attack reach its steady state
    const rtts = await bystanderRtts(port, Math.round(300 * scale));
    relay.proc.send({ type: "probe" });
    const { rss } = await relay.next("probe");
    attacker?.proc.kill("SIGKILL");
    relay.proc.kill("SIGKILL");
    const row = {
      attack,
      p50: percentile(rtts, 50),
      p99: percentile(rtts, 99),
      rssMiB: rss / 2 ** 20,
    };
    rows.push(row);
    lines.push(
      `| ${attack} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.rssMiB.toFixed(0)} |`,
    );
  }
  return { rows, lines };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log((await runAttackBench(Number(process.env.BENCH_SCALE ?? 1))).lines.join("\n"));
  process.exit(0);
}

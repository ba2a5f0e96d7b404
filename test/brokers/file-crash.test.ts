/**
 * The filesystem broker under crashes: a writer killed with SIGKILL mid-append or while taking its
 * lock, a torn tail as a power cut leaves it, and channel names that look like paths.
 */
import { spawn } from "node:child_process";
import { appendFile, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFileBroker } from "@pubsubbud/relay-node/brokers/file";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";

const writer = fileURLToPath(new URL("./file-writer.mjs", import.meta.url));
const lockWriter = fileURLToPath(new URL("./file-lock-writer.mjs", import.meta.url));
const closing: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((b) => b.close()));
});

async function open(dir: string, segmentMessages = 50) {
  const broker = await createFileBroker({ dir, segmentMessages });
  closing.push(broker);
  return broker;
}

/** Every record line of every segment, checked: offsets 1..n with no hole. */
async function segmentLines(dir: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".log")).sort();
  const lines: string[] = [];
  for (const file of files)
    lines.push(...(await readFile(join(dir, file), "utf8")).split("\n").filter(Boolean));
  return lines;
}

describe("filesystem broker crash safety", () => {
  it("keeps every acknowledged message, in order, when a writer is killed with SIGKILL mid-append", async () => {
    const dir = tempDir("crash");
    const ns = "crash";
    const child = spawn(process.execPath, [writer, dir, ns], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const acked: Array<[string, string]> = [];
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) acked.push(line.split(" ") as [string, string]);
    });
    await waitFor(() => acked.length >= 400, "400 acknowledged appends");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;

    // A new process opens the log: repairs any torn tail, takes over a lock the dead one held.
    const broker = await open(dir);
    const head = await broker.head(ns);
    const all = (await broker.since(ns, { epoch: head.epoch, offset: "" })) ?? [];
    expect(all.map((m) => m.offset)).toEqual(all.map((_, i) => String(i + 1)));
    const byOffset = new Map(all.map((m) => [m.offset, m.id]));
    for (const [offset, id] of acked) expect(byOffset.get(offset)).toBe(id);
    const after = await broker.publish(ns, { channel: "crash.after", id: "after", data: 1 });
    expect(after).toEqual({ offset: String(all.length + 1), duplicate: false });
    expect((await segmentLines(join(dir, ns))).length).toBe(all.length + 1);
  }, 60_000);

  it("leaves every lock naming its holder when a writer is killed while taking it, so the next writer can take it over", async () => {
    const dir = tempDir("locks");
    const namespaces = 20;
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, [lockWriter, dir, String(namespaces)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      // Ready: every namespace appended, past any lock the writer killed in the round before left.
      await new Promise((resolve) => child.stdout.once("data", resolve));
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
      for (let n = 0; n < namespaces; n++) {
        const holder = await readFile(join(dir, `ns${n}`, "lock"), "utf8").catch(() => undefined);
        if (holder !== undefined) expect(holder).toMatch(new RegExp(`^${child.pid}@`));
      }
    }
    const broker = await open(dir);
    for (let n = 0; n < namespaces; n++) {
      const outcome = await broker.publish(`ns${n}`, { channel: "after", id: "after", data: 0 });
      expect(outcome.duplicate).toBe(false);
      // The drafts the killed writers left beside their locks went when the log was opened.
      const names = await readdir(join(dir, `ns${n}`));
      expect(names.filter((name) => name.startsWith("lock"))).toEqual([]);
    }
  }, 60_000);

  it("truncates a torn tail on start, takes over a dead writer's lock, and appends after the last whole record", async () => {
    const dir = tempDir("torn");
    const ns = "torn";
    const first = await open(dir, 1000);
    for (let i = 1; i <= 5; i++) await first.publish(ns, { channel: "t", id: `t${i}`, data: i });
    await first.close();
    const [segment] = (await readdir(join(dir, ns))).filter((f) => f.endsWith(".log"));
    // Half a record, as a power cut in the middle of a write leaves it.
    await appendFile(join(dir, ns, segment as string), '0badc0de {"o":6,"c":"t","i":"t6","d":');
    // …and the lock still held by the process that died (a pid no process has).
    await writeFile(join(dir, ns, "lock"), `4194303@${hostname()} dead`);
    const broker = await open(dir, 1000);
    const head = await broker.head(ns);
    expect(head.offset).toBe("5");
    expect(await broker.publish(ns, { channel: "t", id: "t6", data: 6 })).toEqual({
      offset: "6",
      duplicate: false,
    });
    const all = await broker.since(ns, { epoch: head.epoch, offset: "" });
    expect(all?.map((m) => m.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await segmentLines(join(dir, ns))).toHaveLength(6);
  });

  it("never turns a channel name into a path, and refuses a namespace that is not a plain name", async () => {
    const dir = tempDir("paths");
    const broker = await open(dir);
    for (const channel of ["../../escape", "a/b/c", "..", "/abs", "nul\u0000byte"])
      await broker.publish("safe", { channel, id: channel, data: channel });
    expect((await readdir(dir)).sort()).toEqual(["safe"]);
    expect((await readdir(join(dir, "safe"))).sort()).toEqual([
      "00000000000000000001.log",
      "epoch",
    ]);
    await expect(broker.publish("../outside", { channel: "x", id: "x", data: 1 })).rejects.toThrow(
      /namespace must be/,
    );
    expect(await readdir(dir)).toEqual(["safe"]);
  });
});

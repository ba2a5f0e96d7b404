import { mkdtempSync } from "node:fs";
import { readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EMPTY_LOCK_STALE_MS, removeDeadDrafts, withLockFile } from "./file-lock.js";

const folder = () => mkdtempSync(join(tmpdir(), "pubsubbud-file-lock-"));
const quiet = () => {};
const DEAD_PID = 4194303; // a pid no process has

describe("withLockFile", () => {
  it("lets one holder in at a time, names it in the lock, and leaves nothing behind", async () => {
    const dir = folder();
    const lock = join(dir, "lock");
    let inside = 0;
    let most = 0;
    const holders = new Set<string>();
    await Promise.all(
      Array.from({ length: 40 }, () =>
        withLockFile(lock, quiet, async () => {
          most = Math.max(most, ++inside);
          holders.add(await readFile(lock, "utf8"));
          await new Promise((resolve) => setImmediate(resolve));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(holders.size).toBe(40);
    for (const holder of holders)
      expect(holder.startsWith(`${process.pid}@${hostname()} `)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  // Earlier versions created the lock with O_EXCL and wrote their holder after: a process killed
  // between the two left an empty lock, and every process after it waited for it forever.
  it.each([
    { left: "a lock whose process died", holder: `${DEAD_PID}@${hostname()} dead` },
    { left: "a lock that has named no holder for longer than EMPTY_LOCK_STALE_MS", holder: "" },
    // Pid 1 runs, but this lock was taken before the host last started.
    ...(process.platform === "linux"
      ? [{ left: "a lock of an earlier boot", holder: `1@${hostname()} old ${"0".repeat(8)}-boot` }]
      : []),
  ])(
    "takes over $left, and logs it",
    async ({ holder }) => {
      const dir = folder();
      const lock = join(dir, "lock");
      await writeFile(lock, holder);
      const past = (Date.now() - EMPTY_LOCK_STALE_MS - 60_000) / 1000;
      await utimes(lock, past, past);
      const logged: unknown[] = [];
      const ran = await withLockFile(
        lock,
        (...entry) => logged.push(entry),
        async () => "ran",
      );
      expect(ran).toBe("ran");
      expect(logged).toEqual([["took over a lock left by a dead process", { lock, holder }]]);
      expect(await readdir(dir)).toEqual([]);
    },
    10_000,
  );

  it("lets one holder in at a time when many take over one dead process's lock at once", async () => {
    for (let round = 0; round < 20; round++) {
      const dir = folder();
      const lock = join(dir, "lock");
      await writeFile(lock, `${DEAD_PID}@${hostname()} dead`);
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 12 }, () =>
          withLockFile(lock, quiet, async () => {
            most = Math.max(most, ++inside);
            await new Promise((resolve) => setImmediate(resolve));
            inside--;
          }),
        ),
      );
      expect(most).toBe(1);
      expect(await readdir(dir)).toEqual([]);
    }
  });
});

describe("removeDeadDrafts", () => {
  it("deletes the drafts beside a lock of processes that no longer run, and no other file", async () => {
    const dir = folder();
    const dead = `lock.${DEAD_PID}-AbCd1234.new`;
    const live = `lock.${process.pid}-AbCd1234.new`;
    const others = [
      "lock",
      "epoch",
      `lock.${DEAD_PID}-AbCd1234.new.x`,
      `g.lock.${DEAD_PID}-AbCd1234.new`,
    ];
    for (const name of [dead, live, ...others]) await writeFile(join(dir, name), "");
    await removeDeadDrafts(join(dir, "lock"));
    expect((await readdir(dir)).sort()).toEqual([live, ...others].sort());
  });
});

/**
 * The filesystem broker's lock files: a namespace's `lock` (held by the process appending) and a
 * group's `groups/<group>.lock` (held by the member taking its turn). A lock names its holder,
 * `<pid>@<host> <random> <boot>`, from the moment it exists, so a process that finds it can tell
 * whether the holder still runs.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { randomId } from "@pubsubbud/relay-core/internal";
import * as fs from "node:fs/promises";

/** Reports what taking a lock found (a lock left by a dead process, taken over). */
export type LockLog = (message: string, fields: Record<string, unknown>) => void;

/**
 * How long a lock file that names no holder is waited for before it counts as left behind. This
 * version never makes one; earlier versions did (created with O_EXCL, then written) when their
 * process was killed between the two steps, and a power cut can lose a lock's bytes. A live
 * earlier-version writer fills its lock within milliseconds.
 */
export const EMPTY_LOCK_STALE_MS = 10_000;

/** What follows `<lock>.` in the name of a lock's draft, `<lock>.<pid>-<random>.new`. */
const DRAFT = /^(\d+)-[0-9A-Za-z]{8}\.new$/;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * This boot of the host (Linux), or "" where the system does not say. A lock also names the boot
 * it was taken in: after a restart, its holder's pid may belong to another process, which must
 * not make the lock look held.
 */
const BOOT = (() => {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
})();

/** What a lock holds: `<pid>@<host> <random>`, then ` <boot>` where the boot is known. */
const holderText = () => `${process.pid}@${hostname()} ${randomId(8)}${BOOT && ` ${BOOT}`}`;

/** Whether the lock file at `path`, holding `holder`, was left by a process that is gone. */
async function leftBehind(path: string, holder: string): Promise<boolean> {
  if (holder === "") {
    const stats = await fs.stat(path).catch(() => undefined);
    return stats !== undefined && Date.now() - stats.mtimeMs > EMPTY_LOCK_STALE_MS;
  }
  const [who, , boot] = holder.split(" ");
  const [pid, host] = who?.split("@") ?? [];
  if (host !== hostname()) return false;
  return (boot !== undefined && BOOT !== "" && boot !== BOOT) || !alive(Number(pid));
}

/** The lock's content; undefined when there is no lock (it was released meanwhile). */
const holderOf = (lock: string) =>
  fs.readFile(lock, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });

/**
 * Removes a lock its holder left behind. Of the processes taking it over at once, the one that
 * hard-links it first to the name `<lock>.stale-<digest of its holder>` wins; the others find that
 * name taken. The winner removes `lock` only when what it linked names that dead holder. A process
 * that comes late links whatever `lock` is by then (the next holder's live lock), finds another
 * holder in it, and leaves `lock` alone: no step moves or removes a lock it has not proved dead.
 * (Moved aside and put back, a live lock was missing for a moment; a third process took the name
 * meanwhile, and two processes held the lock.) A winner that dies leaves its link, which is removed
 * once it is {@link EMPTY_LOCK_STALE_MS} old.
 */
async function takeOver(lock: string, holder: string, log: LockLog): Promise<boolean> {
  const claim = `${lock}.stale-${createHash("sha256").update(holder).digest("hex").slice(0, 16)}`;
  const claimed = await fs.link(lock, claim).then(
    () => true,
    async (error: NodeJS.ErrnoException) => {
      if (error.code === "EEXIST") {
        const stats = await fs.stat(claim).catch(() => undefined);
        if (stats && Date.now() - stats.ctimeMs > EMPTY_LOCK_STALE_MS)
          await fs.rm(claim, { force: true });
      } else if (error.code !== "ENOENT") throw error;
      return false;
    },
  );
  if (!claimed) return false;
  try {
    if ((await fs.readFile(claim, "utf8").catch(() => undefined)) !== holder) return false;
    await fs.unlink(lock);
    log("took over a lock left by a dead process", { lock, holder });
    return true;
  } finally {
    await fs.rm(claim, { force: true });
  }
}

/**
 * Deletes the drafts beside `lock` of processes that no longer run (one killed while taking the
 * lock leaves its draft behind).
 */
export async function removeDeadDrafts(lock: string): Promise<void> {
  const prefix = `${basename(lock)}.`;
  for (const name of await fs.readdir(dirname(lock))) {
    const pid = name.startsWith(prefix) ? DRAFT.exec(name.slice(prefix.length))?.[1] : undefined;
    if (pid !== undefined && !alive(Number(pid)))
      await fs.unlink(join(dirname(lock), name)).catch(() => {});
  }
}

/** Links `draft` to the name `lock`: false while that name is taken. */
const link = (draft: string, lock: string) =>
  fs.link(draft, lock).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "EEXIST") return false;
      throw error;
    },
  );

/**
 * Takes `lock`: the holder is written to a draft file first, then the draft is hard-linked to the
 * lock's name, which fails while the name exists. The lock appears with its holder in it, whenever
 * the process dies. (Created with O_EXCL and then written, a lock stayed empty when its process
 * was killed between the two, and every process after it waited for it forever.)
 */
async function acquire(lock: string, log: LockLog): Promise<void> {
  const draft = `${lock}.${process.pid}-${randomId(8)}.new`;
  await fs.writeFile(draft, holderText(), { flag: "wx" });
  try {
    for (let attempt = 0; !(await link(draft, lock)); attempt++) {
      const holder = await holderOf(lock);
      if (holder === undefined) continue;
      // Held, or being taken over by another process: a jittered wait, then again.
      if (!((await leftBehind(lock, holder)) && (await takeOver(lock, holder, log))))
        await new Promise((resolve) =>
          setTimeout(resolve, Math.random() * Math.min(20, 1 + attempt)),
        );
    }
  } finally {
    await fs.unlink(draft).catch(() => {});
  }
}

/** Runs `work` holding a lock file, taking it over from a holder that died on this host. */
export async function withLockFile<T>(
  lock: string,
  log: LockLog,
  work: () => Promise<T>,
): Promise<T> {
  await acquire(lock, log);
  try {
    return await work();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

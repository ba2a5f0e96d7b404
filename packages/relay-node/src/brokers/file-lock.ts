/**
 * The filesystem broker's lock files: a namespace's `lock` (held by the process appending) and a
 * group's `groups/<group>.lock` (held by the member taking its turn). A lock names its holder,
 * `<pid>@<host> <random>`, from the moment it exists, so a process that finds it can tell whether
 * the holder still runs.
 */
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

/** Whether the lock file at `path`, holding `holder`, was left by a process that is gone. */
async function leftBehind(path: string, holder: string): Promise<boolean> {
  if (holder === "") {
    const stats = await fs.stat(path).catch(() => undefined);
    return stats !== undefined && Date.now() - stats.mtimeMs > EMPTY_LOCK_STALE_MS;
  }
  const [pid, host] = holder.split(" ")[0]?.split("@") ?? [];
  return host === hostname() && !alive(Number(pid));
}

/** The lock's content; undefined when there is no lock (it was released meanwhile). */
const holderOf = (lock: string) =>
  fs.readFile(lock, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });

/**
 * Removes a lock its holder left behind. It is moved aside first (atomically: of several processes
 * taking over, one succeeds) and put back if what was moved turns out to be live after all.
 */
async function takeOver(lock: string, holder: string, log: LockLog): Promise<void> {
  const aside = `${lock}.stale-${randomId(8)}`;
  const moved = await fs.rename(lock, aside).then(
    () => true,
    () => false,
  );
  if (!moved) return;
  const content = await fs.readFile(aside, "utf8").catch(() => undefined);
  if (content === holder && (await leftBehind(aside, content)))
    log("took over a lock left by a dead process", { lock, holder });
  else await fs.link(aside, lock).catch(() => {}); // a live lock: put it back
  await fs.rm(aside, { force: true });
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
  await fs.writeFile(draft, `${process.pid}@${hostname()} ${randomId(8)}`, { flag: "wx" });
  try {
    for (let attempt = 0; !(await link(draft, lock)); attempt++) {
      const holder = await holderOf(lock);
      if (holder === undefined) continue;
      if (await leftBehind(lock, holder)) await takeOver(lock, holder, log);
      else
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

/**
 * The filesystem broker: the embedded multi-process broker. Several relay processes on one host
 * share a directory; each namespace is an append-only log there (see file-log.ts), so history is
 * shared and a client resumes on any of the processes. See docs/brokers.md.
 */
import { type FSWatcher, watch } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Position } from "@pubsubbud/protocol";
import {
  type BrokerListener,
  compareDecimalOffsets,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type StopListening,
  type GroupBroker,
} from "@pubsubbud/relay-core";
import { getOrCreate, namespaceError } from "@pubsubbud/relay-core/internal";
import * as fs from "node:fs/promises";
import { removeDeadDrafts, withLockFile } from "./file-lock.js";
import { FileLog, type FsyncPolicy } from "./file-log.js";
import {
  type BrokerCommonOptions,
  badBrokerUrl,
  GroupMembers,
  Listeners,
  pollingMember,
  retentionOf,
} from "./shared.js";

export type { FsyncPolicy } from "./file-log.js";

/** Options of {@link createFileBroker}. */
export interface FileBrokerOptions extends BrokerCommonOptions {
  /** The shared directory: a path, or a `file:///abs/path` URL. */
  dir: string;
  /**
   * `interval` (default): appends reach the disk within `fsyncIntervalMs`; a crashed process
   * loses nothing it acknowledged, a power cut loses at most that interval. `always`: each
   * append is on disk before its ack (slower).
   */
  fsync?: FsyncPolicy;
  /** @default 100 */
  fsyncIntervalMs?: number;
  /** Records per segment file; whole segments are deleted by retention. @default 1000 */
  segmentMessages?: number;
  /** How often a listened namespace is re-read in case a change notification was missed, in ms. @default 1000 */
  pollMs?: number;
}

/** The directory a `file:` URL or a path names. */
function directoryOf(dir: string): string {
  if (dir.startsWith("file:")) {
    try {
      return fileURLToPath(dir);
    } catch (error) {
      throw badBrokerUrl(dir, String(error), "the form file:///absolute/path");
    }
  }
  return isAbsolute(dir) ? dir : resolve(dir);
}

/**
 * Opens (and creates) the shared directory.
 * @example const broker = await createFileBroker({ dir: "file:///var/lib/pubsubbud" })
 */
export async function createFileBroker(options: FileBrokerOptions): Promise<GroupBroker> {
  const root = directoryOf(options.dir);
  const retention = retentionOf(options);
  const log = options.log ?? (() => {});
  const {
    fsync = "interval",
    fsyncIntervalMs = 100,
    segmentMessages = 1000,
    pollMs = 1000,
  } = options;
  try {
    await fs.mkdir(root, { recursive: true });
    await fs.access(root, fs.constants.W_OK);
  } catch (error) {
    throw badBrokerUrl(
      options.dir,
      `cannot write to ${root} (${String(error)})`,
      "the directory's path and permissions",
    );
  }

  const listeners = new Listeners();
  const logs = new Map<string, Promise<FileLog>>();
  const watchers = new Map<
    string,
    { watcher: FSWatcher | undefined; poll: ReturnType<typeof setInterval> }
  >();
  let closed = false;

  const logOf = (namespace: string): Promise<FileLog> => {
    // Namespaces are checked again here: they become folder names, so nothing else may pass.
    const invalid = namespaceError(namespace);
    if (invalid) return Promise.reject(new Error(invalid));
    return getOrCreate(logs, namespace, () =>
      FileLog.open(join(root, namespace), {
        retention,
        segmentMessages,
        fsync,
        fsyncIntervalMs,
        log: (message, fields) => log("warn", message, { namespace, ...fields }),
        deliver: (message) => listeners.message(namespace, message),
      }),
    );
  };

  /** Reads what other processes appended and reports a gap if this one fell behind retention. */
  const refresh = async (namespace: string) => {
    const file = await logOf(namespace);
    await file.catchUp();
    if (file.gapped) {
      file.gapped = false;
      listeners.gap(namespace);
    }
  };

  const members = new GroupMembers();
  const broker: GroupBroker = {
    name: "file",
    capabilities: { sharedHistory: true, totalOrder: true },
    async publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
      if (closed) throw new Error("file broker is closed");
      return (await logOf(namespace)).append(input, Date.now());
    },
    async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
      await refresh(namespace);
      if (listeners.add(namespace, listener)) {
        const onChange = () => void refresh(namespace).catch(() => {});
        let watcher: FSWatcher | undefined;
        try {
          watcher = watch(join(root, namespace), onChange);
          watcher.on("error", () => {});
        } catch {
          watcher = undefined; // the poll below still reads every pollMs
        }
        const poll = setInterval(onChange, pollMs);
        poll.unref();
        watchers.set(namespace, { watcher, poll });
      }
      return async () => {
        if (!listeners.remove(namespace, listener)) return;
        const watching = watchers.get(namespace);
        watching?.watcher?.close();
        clearInterval(watching?.poll);
        watchers.delete(namespace);
      };
    },
    async head(namespace: string): Promise<Position> {
      await refresh(namespace);
      return (await logOf(namespace)).head();
    },
    async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
      await refresh(namespace);
      return (await logOf(namespace)).since(position);
    },
    compareOffsets: compareDecimalOffsets,
    healthy: () => !closed,
    // A persisted cursor per group (`<ns>/groups/<group>.cursor`) moved under the group's lock
    // file: the member holding it handles the next messages, then writes the cursor.
    groups: {
      namedMembers: false,
      async consume(namespace, group, _member, handle) {
        const file = await logOf(namespace);
        const dir = join(root, namespace, "groups");
        await fs.mkdir(dir, { recursive: true });
        const cursorPath = join(dir, `${group}.cursor`);
        const lockPath = join(dir, `${group}.lock`);
        await removeDeadDrafts(lockPath);
        await file.catchUp();
        await fs
          .writeFile(cursorPath, JSON.stringify(file.head()), { flag: "wx" })
          .catch((error) => {
            if (error.code !== "EEXIST") throw error;
          });
        const groupLog = (message: string, fields: Record<string, unknown>) =>
          log("warn", message, { namespace, group, ...fields });
        const turn = () =>
          withLockFile(lockPath, groupLog, async () => {
            const position = JSON.parse(await fs.readFile(cursorPath, "utf8")) as Position;
            await file.catchUp();
            let next = file.since(position);
            if (!next) {
              groupLog("group fell behind retention: history skipped", { cursor: position.offset });
              next = file.since(file.oldest()) ?? [];
            }
            for (const message of next.slice(0, 10)) {
              await handle(message);
              const moved = JSON.stringify({ epoch: file.epoch, offset: message.offset });
              await fs.writeFile(`${cursorPath}.tmp`, moved);
              await fs.rename(`${cursorPath}.tmp`, cursorPath);
            }
            return next.length;
          });
        return members.add(pollingMember(turn));
      },
    },
    async close() {
      closed = true;
      for (const { watcher, poll } of watchers.values()) {
        watcher?.close();
        clearInterval(poll);
      }
      watchers.clear();
      listeners.clear();
      await members.stopAll();
      await Promise.all([...logs.values()].map(async (file) => (await file).close()));
    },
  };
  return broker;
}

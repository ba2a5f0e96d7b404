/**
 * One namespace's append-only log on disk, shared by every relay process on the host.
 *
 * Folder `<dir>/<namespace>/`: `epoch` (made once), `lock` (held by the appending process) and
 * segments `<first offset, 20 digits>.log` of `segmentMessages` records each. A record is one line:
 * `<crc32 of the JSON, 8 hex> <JSON>\n`, the JSON holding offset, channel, id, data, headers and
 * timestamp. Channel names live inside records only; they never become paths.
 */
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { Headers, Position } from "@pubsubbud/protocol";
import type { LogMessage, LogRetention, PublishInput, PublishOutcome } from "@pubsubbud/relay-core";
import { dedupeKey } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import * as fs from "node:fs/promises";
import { removeDeadDrafts, withLockFile } from "./file-lock.js";
import { DedupeWindow } from "./shared.js";

/** When appends reach the disk. */
export type FsyncPolicy = "always" | "interval";

export interface FileLogOptions {
  retention: LogRetention;
  segmentMessages: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** Reports what recovery found (a torn tail truncated, a stale lock taken over). */
  log: (message: string, fields: Record<string, unknown>) => void;
  /** Receives each message once, in log order, as this process reads it. */
  deliver: (message: LogMessage) => void;
}

interface StoredRecord {
  o: number;
  c: string;
  i: string;
  d: unknown;
  h?: Headers;
  t: number;
}

interface PendingAppend {
  input: PublishInput;
  now: number;
  resolve: (outcome: PublishOutcome) => void;
  reject: (error: unknown) => void;
}

const SEGMENT = /^(\d{20})\.log$/;
const segmentName = (first: number) => `${String(first).padStart(20, "0")}.log`;

function encodeRecord(record: StoredRecord): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}

/** A record line (without its newline), or undefined when torn or corrupt. */
function decodeRecord(line: string): StoredRecord | undefined {
  const json = line.slice(9);
  if (line[8] !== " " || crc32(json).toString(16).padStart(8, "0") !== line.slice(0, 8))
    return undefined;
  try {
    return JSON.parse(json) as StoredRecord;
  } catch {
    return undefined;
  }
}

const toMessage = (r: StoredRecord): LogMessage => {
  const message: LogMessage = { channel: r.c, id: r.i, data: r.d, ts: r.t, offset: String(r.o) };
  if (r.h) message.headers = r.h;
  return message;
};

export class FileLog {
  readonly epoch: string;
  readonly #dir: string;
  readonly #options: FileLogOptions;
  readonly #dedupe: DedupeWindow;
  /** Retained messages, oldest first; the disk is the truth, this is what was read of it. */
  #messages: LogMessage[] = [];
  #first = 1; // offset the log's retained history starts at (after retention)
  #last = 0; // newest offset read
  #segment = 0; // first offset of the segment being read (0: none yet)
  #position = 0; // bytes of that segment read
  #pending = ""; // bytes read after the last complete line
  #reading: Promise<void> | undefined;
  #queue: PendingAppend[] = [];
  #draining = false;
  /** Set when this process fell behind retention and skipped history; the broker reports a gap. */
  gapped = false;
  #writer: fs.FileHandle | undefined;
  #writerSegment = 0;
  #dirty = false;
  #syncTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(dir: string, epoch: string, options: FileLogOptions) {
    this.#dir = dir;
    this.epoch = epoch;
    this.#options = options;
    this.#dedupe = new DedupeWindow(options.retention);
  }

  static async open(dir: string, options: FileLogOptions): Promise<FileLog> {
    await fs.mkdir(dir, { recursive: true });
    const epochFile = join(dir, "epoch");
    try {
      await fs.writeFile(epochFile, randomId(12), { flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const log = new FileLog(dir, (await fs.readFile(epochFile, "utf8")).trim(), options);
    await removeDeadDrafts(join(dir, "lock"));
    await log.#withLock(() => log.catchUp(true));
    return log;
  }

  /**
   * Reads what other processes appended, handing each new message to `deliver`. `repair` (only
   * under the lock) cuts a torn tail.
   */
  catchUp(repair = false): Promise<void> {
    // One read at a time, in order: a caller waits for the reads before it, then reads itself.
    const previous = this.#reading ?? Promise.resolve();
    const next = previous.then(() => this.#read(repair));
    this.#reading = next;
    next.finally(() => {
      if (this.#reading === next) this.#reading = undefined;
    });
    return next;
  }

  /**
   * Appends a record, or recognises a duplicate id. Appends waiting in this process are written
   * together under one hold of the lock (group commit), in the order they were called.
   */
  append(input: PublishInput, now: number): Promise<PublishOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ input, now, resolve, reject });
      if (this.#queue.length === 1 && !this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      try {
        const outcomes = await this.#withLock(() => this.#write(batch));
        for (const [i, entry] of batch.entries()) entry.resolve(outcomes[i] as PublishOutcome);
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.#draining = false;
  }

  async #write(batch: PendingAppend[]): Promise<PublishOutcome[]> {
    await this.catchUp(true);
    const outcomes: PublishOutcome[] = [];
    const fresh = new Map<string, string>();
    let text = "";
    let offset = this.#last;
    let writer: fs.FileHandle | undefined;
    for (const { input, now } of batch) {
      const key = dedupeKey(input);
      const seen = this.#dedupe.get(key) ?? fresh.get(key);
      if (seen !== undefined) {
        outcomes.push({ offset: seen, duplicate: true });
        continue;
      }
      offset++;
      const next = await this.#writerFor(offset, writer ? text : undefined);
      if (next !== writer) text = "";
      writer = next;
      const record: StoredRecord = {
        o: offset,
        c: input.channel,
        i: input.id,
        d: input.data,
        t: now,
      };
      if (input.headers !== undefined) record.h = input.headers;
      text += encodeRecord(record);
      fresh.set(key, String(offset));
      outcomes.push({ offset: String(offset), duplicate: false });
    }
    if (writer && text) await writer.appendFile(text);
    if (writer && this.#options.fsync === "always") await writer.datasync();
    else if (writer) this.#dirty = true;
    await this.catchUp();
    return outcomes;
  }

  head(): Position {
    return { epoch: this.epoch, offset: this.#last === 0 ? "" : String(this.#last) };
  }

  since(position: Position): LogMessage[] | undefined {
    this.#trimMemory();
    if (position.epoch !== this.epoch) return undefined;
    const after = position.offset === "" ? 0 : Number(position.offset);
    if (!Number.isSafeInteger(after) || after < 0 || after > this.#last) return undefined;
    if (after < this.#first - 1) return undefined;
    return this.#messages.slice(this.#messages.length - (this.#last - after));
  }

  async close(): Promise<void> {
    clearInterval(this.#syncTimer);
    if (this.#dirty) await this.#writer?.datasync().catch(() => {});
    await this.#writer?.close().catch(() => {});
    this.#writer = undefined;
  }

  async #segments(): Promise<number[]> {
    const names = await fs.readdir(this.#dir);
    return names
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((first): first is string => first !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Bytes of a file from `position` to its end; undefined when the file is gone. */
  async #tail(path: string, position: number): Promise<Buffer | undefined> {
    const handle = await fs.open(path, "r").catch(() => undefined);
    if (!handle) return undefined;
    try {
      const chunks: Buffer[] = [];
      for (;;) {
        const chunk = Buffer.allocUnsafe(64 * 1024);
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) return Buffer.concat(chunks);
        chunks.push(chunk.subarray(0, bytesRead));
        position += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * Reads complete records from the current segment on. With `repair` (under the lock), a torn or
   * corrupt tail left by a writer that died mid-append is cut off. A reader that fell so far
   * behind that its segment was deleted starts again at the oldest one and reports a gap.
   */
  async #read(repair: boolean): Promise<void> {
    const fresh: LogMessage[] = [];
    if (this.#segment === 0) {
      const segments = await this.#segments();
      if (segments.length === 0) return;
      this.#segment = this.#first = segments[0] as number;
      this.#last = this.#segment - 1;
    }
    for (;;) {
      const path = join(this.#dir, segmentName(this.#segment));
      const bytes = await this.#tail(path, this.#position);
      if (!bytes) {
        const later = (await this.#segments()).find((first) => first > this.#segment);
        if (later === undefined) break;
        this.#options.log("fell behind retention: history skipped", { path, resumesAt: later });
        this.gapped = true;
        this.#messages = [];
        this.#segment = this.#first = later;
        this.#last = later - 1;
        this.#position = 0;
        this.#pending = "";
        continue;
      }
      let lineStart = this.#position - Buffer.byteLength(this.#pending);
      this.#position += bytes.length;
      const lines = (this.#pending + bytes.toString("utf8")).split("\n");
      this.#pending = lines.pop() as string;
      let broken = false;
      for (const line of lines) {
        const record = decodeRecord(line);
        if (!record || record.o !== this.#last + 1) {
          broken = true;
          break;
        }
        lineStart += Buffer.byteLength(line) + 1;
        this.#last = record.o;
        const message = toMessage(record);
        this.#messages.push(message);
        this.#dedupe.remember(dedupeKey(message), message.offset);
        fresh.push(message);
      }
      if (broken && !repair) {
        // A writer died there; the next one to append repairs it. Read on from this line then.
        this.#position = lineStart;
        this.#pending = "";
        break;
      }
      if (broken || (repair && this.#pending !== "")) {
        this.#position = await this.#cutTail(path, fresh);
        this.#pending = "";
      }
      // A full segment is followed by the next one, named by the offset that starts it.
      if (this.#last - this.#segment + 1 < this.#options.segmentMessages) break;
      const next = this.#last + 1;
      const exists = await fs.stat(join(this.#dir, segmentName(next))).then(
        () => true,
        () => false,
      );
      if (!exists || this.#pending !== "") break;
      this.#segment = next;
      this.#position = 0;
    }
    this.#trimMemory();
    for (const message of fresh) this.#options.deliver(message);
  }

  /** Truncates the segment after its last good record (only under the lock). */
  async #cutTail(path: string, fresh: LogMessage[]): Promise<number> {
    const bytes = await fs.readFile(path);
    let good = 0;
    let expected = this.#segment;
    for (let start = 0; start < bytes.length; ) {
      const end = bytes.indexOf(10, start);
      if (end < 0) break;
      const record = decodeRecord(bytes.subarray(start, end).toString("utf8"));
      if (!record || record.o !== expected) break;
      expected++;
      start = good = end + 1;
    }
    const dropped = bytes.length - good;
    if (dropped > 0) {
      this.#options.log("truncated a torn tail", {
        path,
        bytes: dropped,
        lastOffset: expected - 1,
      });
      await fs.truncate(path, good);
    }
    // Anything read past the good prefix was not a record after all.
    while (this.#last > expected - 1) {
      this.#messages.pop();
      fresh.pop();
      this.#last--;
    }
    return good;
  }

  /**
   * The handle to append `offset` to: the current segment's, or a new segment's once the current
   * one is full. `unwritten` is text meant for the current handle, written before it rolls.
   */
  async #writerFor(offset: number, unwritten?: string): Promise<fs.FileHandle> {
    // The reader is at the newest segment after catching up; a roll in this batch is newer still.
    const current = Math.max(this.#writerSegment, this.#segment);
    const rolls = current === 0 || offset - current >= this.#options.segmentMessages;
    const segment = rolls ? offset : current;
    if (this.#writer && this.#writerSegment === segment) return this.#writer;
    if (unwritten) await this.#writer?.appendFile(unwritten);
    if (unwritten && this.#options.fsync === "always") await this.#writer?.datasync();
    await this.#writer?.close();
    this.#writer = await fs.open(join(this.#dir, segmentName(segment)), "a");
    this.#writerSegment = segment;
    if (this.#options.fsync === "interval" && !this.#syncTimer) {
      this.#syncTimer = setInterval(() => {
        if (!this.#dirty) return;
        this.#dirty = false;
        this.#writer?.datasync().catch(() => {});
      }, this.#options.fsyncIntervalMs);
      this.#syncTimer.unref();
    }
    if (rolls) await this.#dropOldSegments(offset);
    return this.#writer;
  }

  /** Deletes whole segments that hold nothing inside the retention window any more. */
  async #dropOldSegments(newest: number): Promise<void> {
    const { maxMessages, maxAgeMs } = this.#options.retention;
    const segments = await this.#segments();
    const now = Date.now();
    for (let i = 0; i + 1 < segments.length; i++) {
      const path = join(this.#dir, segmentName(segments[i] as number));
      const lastOffset = (segments[i + 1] as number) - 1;
      const written = (await fs.stat(path)).mtimeMs;
      if (newest - lastOffset <= maxMessages && now - written <= maxAgeMs) break;
      await fs.rm(path, { force: true });
    }
  }

  #trimMemory(): void {
    const { maxMessages, maxAgeMs } = this.#options.retention;
    const now = Date.now();
    let drop = 0;
    while (
      drop < this.#messages.length &&
      (this.#messages.length - drop > maxMessages ||
        now - (this.#messages[drop] as LogMessage).ts > maxAgeMs)
    )
      drop++;
    if (drop === 0) return;
    this.#messages = this.#messages.slice(drop);
    this.#first = this.#last - this.#messages.length + 1;
  }

  /** Runs `work` holding the namespace's lock file. */
  #withLock<T>(work: () => Promise<T>): Promise<T> {
    return withLockFile(join(this.#dir, "lock"), this.#options.log, work);
  }

  /** The position just before the oldest retained message (a reader that fell behind restarts here). */
  oldest(): Position {
    this.#trimMemory();
    return { epoch: this.epoch, offset: this.#first <= 1 ? "" : String(this.#first - 1) };
  }
}

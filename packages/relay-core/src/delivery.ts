/**
 * One connection's outbound path, owned in one place: the rule "each message once, in log order,
 * after the welcome and the replay, then live" and the budgets that bound it (batch size, the
 * outbound buffer, the replay paced by what the socket has written).
 */
import { joinBatch } from "@pubsubbud/protocol";
import type { LogMessage } from "./broker.js";
import { serializeMessage } from "./serialize.js";

/** What a delivery needs from the relay around it: one for all connections (the engine). */
export interface DeliveryHost {
  /** Largest batch (one socket write), in bytes; a single larger frame goes alone. */
  readonly maxBatchBytes: number;
  /** Bytes queued or unwritten past which the connection is a slow consumer. */
  readonly maxBufferedBytes: number;
  compareOffsets(a: string, b: string): number;
  /** Asks for `flush` to run soon (frames queued until then share one write). */
  scheduleFlush(delivery: Delivery): void;
  /** Counts one socket write and, for a replay, the messages it carried. */
  wrote(frames: number, replayed: number): void;
}

/** What a delivery needs from its connection. */
export interface DeliverySocket {
  /** Sends one text frame; calls `written` once the socket wrote it (or at once if it cannot tell). */
  send(text: string, written?: () => void): void;
  bufferedAmount(): number;
  /** The connection fell too far behind: close it (4001). */
  slowConsumer(): void;
  /** The replay is out and the connection live (once: within `start`, or when the replay ends). */
  caughtUp(): void;
}

type Phase = "holding" | "replaying" | "live" | "closed";

/** The empty list every idle delivery shares. */
const NOTHING: readonly never[] = Object.freeze([]);

/**
 * What a delivery holds only until it is live: the replay going out and the live messages held
 * behind it. Dropped when the delivery goes live, so an idle connection does not carry it.
 */
class CatchUp {
  /**
   * What arrived for the connection before the replay was out, in order: live messages as
   * [offset, frame], answers (to frames pipelined behind the hello) as [undefined, frame].
   */
  held: Array<[string | undefined, string]> | undefined;
  heldBytes = 0;
  replay: readonly LogMessage[] = NOTHING;
  replayAt = 0;
  /** A replay batch is with the socket; the next waits until it is written. */
  writing = false;
  pumping = false;
}

export class Delivery {
  /** Stamp of the last fan-out that reached this connection, so it gets each message once. */
  stamp = 0;
  #phase: Phase = "holding";
  /** Present while holding or replaying. */
  #catchUp: CatchUp | undefined = new CatchUp();
  /**
   * Live messages at or before this offset are skipped: the client has them from its welcome or
   * replay (a listener on a shared log may lag behind the log's head).
   */
  #floor: string | undefined;
  /**
   * Frames waiting for the next flush: one is kept as it is (a connection usually has one frame
   * a turn, and no array is allocated for it), two or more in an array.
   */
  #outbox: string | string[] | undefined;
  #outboxBytes = 0;
  #dirty = false;
  readonly #host: DeliveryHost;
  readonly #socket: DeliverySocket;

  constructor(host: DeliveryHost, socket: DeliverySocket) {
    this.#host = host;
    this.#socket = socket;
  }

  /**
   * Queues an answer (welcome, ack, error, pong…): frames queued in one tick share a write. One
   * queued while the replay is out waits behind it, in order with the live messages.
   */
  enqueue(text: string): void {
    if (this.#phase === "closed") return;
    if (this.#phase === "replaying") {
      this.#hold(undefined, text);
      return;
    }
    this.#queue(text);
    if (!this.#dirty) {
      this.#dirty = true;
      this.#host.scheduleFlush(this);
    }
  }

  #queue(text: string): void {
    const outbox = this.#outbox;
    if (outbox === undefined) this.#outbox = text;
    else if (typeof outbox === "string") this.#outbox = [outbox, text];
    else outbox.push(text);
    this.#outboxBytes += text.length;
  }

  /**
   * A live message for this connection (matched and granted). It waits while the handshake and
   * replay are out; one the client already has (at or before the floor) is skipped. False when
   * it was skipped.
   */
  live(offset: string, text: string): boolean {
    if (this.#phase === "live") {
      if (this.#floor !== undefined) {
        if (this.#host.compareOffsets(offset, this.#floor) <= 0) return false;
        this.#floor = undefined;
      }
      this.enqueue(text);
      return true;
    }
    return this.#hold(offset, text);
  }

  #hold(offset: string | undefined, text: string): boolean {
    const catchUp = this.#catchUp;
    if (catchUp === undefined) return false; // closed
    if (catchUp.held === undefined) catchUp.held = [];
    catchUp.held.push([offset, text]);
    catchUp.heldBytes += text.length;
    // A client that cannot take its replay does not get to pile up frames behind it.
    if (catchUp.heldBytes > this.#host.maxBufferedBytes) this.#socket.slowConsumer();
    return true;
  }

  /**
   * Ends the handshake: `replay` (the missed messages this connection wants, in log order) goes
   * out in bounded batches, each after the socket wrote the one before; then the held live
   * messages newer than `covered` (the newest offset the welcome and replay account for).
   */
  start(replay: readonly LogMessage[], covered: string): void {
    const catchUp = this.#catchUp;
    if (this.#phase !== "holding" || catchUp === undefined) return;
    this.#phase = "replaying";
    catchUp.replay = replay;
    if (covered !== "") this.#floor = covered;
    this.#pump(catchUp);
  }

  /** True while the replay is still going out (live messages wait). */
  get replaying(): boolean {
    return this.#catchUp !== undefined;
  }

  #pump(catchUp: CatchUp): void {
    if (catchUp.pumping) return;
    catchUp.pumping = true;
    try {
      const { replay } = catchUp;
      while (this.#phase === "replaying" && !catchUp.writing) {
        if (catchUp.replayAt >= replay.length) {
          this.#goLive(catchUp);
          break;
        }
        let bytes = 0;
        const first = catchUp.replayAt;
        while (catchUp.replayAt < replay.length && bytes < this.#host.maxBatchBytes) {
          const text = serializeMessage(replay[catchUp.replayAt++] as LogMessage);
          this.#queue(text);
          bytes += text.length;
        }
        catchUp.writing = true;
        // A socket that reports writes later resumes the pump from its callback; one that calls
        // back at once lets this loop go on without recursing.
        this.flush(() => {
          catchUp.writing = false;
          this.#pump(catchUp);
        }, catchUp.replayAt - first);
      }
    } finally {
      catchUp.pumping = false;
    }
  }

  #goLive(catchUp: CatchUp): void {
    this.#phase = "live";
    this.#catchUp = undefined;
    for (const [offset, text] of catchUp.held ?? NOTHING)
      if (offset === undefined) this.enqueue(text);
      else this.live(offset, text);
    if (this.#phase === "live") this.#socket.caughtUp();
  }

  /**
   * Writes what is queued in batches of at most `maxBatchBytes`, or cuts the connection when the
   * socket is too far behind. `written` hears when the last batch was written.
   */
  flush(written?: () => void, replayed = 0): void {
    this.#dirty = false;
    if (this.#phase === "closed") return;
    const frames = this.#outbox;
    if (frames === undefined) {
      written?.();
      return;
    }
    if (this.#socket.bufferedAmount() + this.#outboxBytes > this.#host.maxBufferedBytes) {
      this.#socket.slowConsumer();
      return;
    }
    this.#outbox = undefined;
    this.#outboxBytes = 0;
    this.#write(frames, written, replayed);
  }

  #write(frames: string | readonly string[], written?: () => void, replayed = 0): void {
    if (typeof frames === "string") {
      this.#host.wrote(1, replayed);
      this.#socket.send(frames, written);
      return;
    }
    const max = this.#host.maxBatchBytes;
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < frames.length; i++) {
      const size = (frames[i] as string).length;
      if (i > start && bytes + size > max) {
        this.#socket.send(joinBatch(frames.slice(start, i)));
        this.#host.wrote(1, 0);
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    const last = start === 0 ? frames : frames.slice(start);
    this.#host.wrote(1, replayed);
    this.#socket.send(joinBatch(last), written);
  }

  /**
   * Stops delivery. With `drain`, what is queued (answers, the end of a replay batch) is written
   * first, in bounded batches; a slow consumer's queue is dropped.
   */
  close(drain: boolean): void {
    if (this.#phase === "closed") return;
    const frames = this.#outbox;
    this.#phase = "closed";
    this.#outbox = undefined;
    this.#catchUp = undefined;
    if (drain && frames !== undefined) this.#write(frames);
  }
}

/**
 * The way publishes reach Kafka: records wait in one queue and leave in batches, one produce
 * request in flight per topic (so a retried request can never land behind a later one of the
 * same namespace) and a few topics at a time; when a request fails, the records waiting behind it
 * fail with it, unsent, so an outage answers at once. Thousands of pipelined publishes thus cost a few
 * requests instead of thousands, and the client library never holds more than a handful when a
 * connection dies (@platformatic/kafka fails its queued requests recursively, one stack frame
 * each: thousands of them overflowed the stack and crashed the process).
 *
 * Each record carries its publish's deadline. Past it, a record still waiting leaves the queue
 * unsent ({@link NotSentError}) and a record whose request left is answered without waiting for
 * Kafka ({@link UnansweredError}); the request itself stays its topic's one in flight until the
 * client library gives up on it, so nothing overtakes it.
 */

import type { Publisher } from "@pubsubbud/relay-core";
import type { Deadline } from "./deadlines.js";
import { PUBLISHER_GONE } from "./shared.js";

/**
 * The error of records that waited behind a failed request of their topic: they never left, so
 * they fail at once (provably not appended) instead of each waiting out the outage in turn.
 */
export class NotSentError extends Error {
  override readonly name = "NotSentError";
}

/**
 * The error of records whose request left but got no answer by their publish's deadline: Kafka
 * may have appended them (the publish is uncertain).
 */
export class UnansweredError extends Error {
  override readonly name = "UnansweredError";
}

/** One record to produce. */
export interface OutgoingRecord {
  key: Buffer;
  value: Buffer;
  headers: Map<Buffer, Buffer>;
}

/** Sends one batch of records to one topic and resolves with the first record's offset. */
export type SendBatch = (topic: string, records: OutgoingRecord[]) => Promise<bigint>;

/** Options of {@link ProduceQueue}. */
export interface ProduceQueueOptions {
  /** Topics with a request in flight at once. @default 4 */
  maxTopicsInFlight?: number;
  /** Records per request. @default 500 */
  maxBatchRecords?: number;
  /** Bytes per request, under Kafka's default `max.message.bytes` (1 MiB). @default 524288 */
  maxBatchBytes?: number;
}

interface Waiting {
  topic: string;
  record: OutgoingRecord;
  publisher: Publisher | undefined;
  /** `waiting` in the queue, `sent` once its request left, `dropped` past its deadline unsent. */
  state: "waiting" | "sent" | "dropped";
  resolve: (offset: bigint) => void;
  reject: (error: unknown) => void;
}

const sizeOf = (record: OutgoingRecord) => {
  let size = record.key.length + record.value.length + 64;
  for (const [name, value] of record.headers) size += name.length + value.length;
  return size;
};

/** Batches records per topic; see the file header. */
export class ProduceQueue {
  readonly #send: SendBatch;
  readonly #maxTopics: number;
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  #waiting: Waiting[] = [];
  readonly #busy = new Set<string>();
  #compacting = false;

  constructor(send: SendBatch, options: ProduceQueueOptions = {}) {
    this.#send = send;
    this.#maxTopics = options.maxTopicsInFlight ?? 4;
    this.#maxRecords = options.maxBatchRecords ?? 500;
    this.#maxBytes = options.maxBatchBytes ?? 512 * 1024;
  }

  /**
   * Produces one record; resolves with its offset, or rejects with the batch's error, or when
   * `deadline` passes first (see the file header), or unsent when `publisher.aborted` by the time
   * its request is made.
   */
  push(
    topic: string,
    record: OutgoingRecord,
    deadline: Deadline,
    publisher?: Publisher,
  ): Promise<bigint> {
    return new Promise((resolve, reject) => {
      if (deadline.passed)
        return reject(new NotSentError(`not sent to ${topic}: past its deadline`));
      const entry: Waiting = { topic, record, publisher, state: "waiting", resolve, reject };
      this.#waiting.push(entry);
      deadline.onPass(() => this.#overdue(entry));
      this.#pump();
    });
  }

  /** The entry's deadline passed before its answer. */
  #overdue(entry: Waiting): void {
    if (entry.state === "sent") {
      entry.reject(new UnansweredError(`no answer from Kafka for ${entry.topic} by the deadline`));
      return;
    }
    // Dropped here, in the same turn, so no later request can carry it.
    entry.state = "dropped";
    entry.reject(new NotSentError(`not sent to ${entry.topic}: the deadline passed in the queue`));
    if (this.#compacting) return;
    this.#compacting = true;
    queueMicrotask(() => {
      this.#compacting = false;
      this.#waiting = this.#waiting.filter((waiting) => waiting.state === "waiting");
    });
  }

  #pump(): void {
    while (this.#busy.size < this.#maxTopics) {
      const next = this.#waiting.find(
        (entry) => entry.state === "waiting" && !this.#busy.has(entry.topic),
      );
      if (!next) return;
      const batch = this.#take(next.topic);
      if (batch.length > 0) this.#dispatch(batch);
    }
  }

  /**
   * The oldest records of `topic` that fit one request, in queue order; those nobody waits for
   * any more leave the queue unsent.
   */
  #take(topic: string): Waiting[] {
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    let bytes = 0;
    // Once one record of the topic stays behind, every later one does too (their order).
    let full = false;
    for (const entry of this.#waiting) {
      if (entry.state === "dropped") continue;
      if (entry.topic === topic && !full && entry.publisher?.aborted) {
        entry.state = "dropped";
        entry.reject(new NotSentError(PUBLISHER_GONE));
        continue;
      }
      const size = sizeOf(entry.record);
      full ||=
        batch.length > 0 && (batch.length >= this.#maxRecords || bytes + size > this.#maxBytes);
      if (entry.topic === topic && !full) {
        batch.push(entry);
        bytes += size;
      } else rest.push(entry);
    }
    this.#waiting = rest;
    return batch;
  }

  #dispatch(batch: Waiting[]): void {
    const topic = (batch[0] as Waiting).topic;
    this.#busy.add(topic);
    for (const entry of batch) entry.state = "sent";
    // The next request of the topic leaves before anyone hears of this one's answer.
    const release = () => {
      this.#busy.delete(topic);
      this.#pump();
    };
    this.#send(
      topic,
      batch.map((entry) => entry.record),
    ).then(
      (first) => {
        release();
        batch.forEach((entry, i) => {
          entry.resolve(first + BigInt(i));
        });
      },
      (error: unknown) => {
        for (const entry of batch) entry.reject(error);
        const waiting = this.#waiting.filter((entry) => entry.topic === topic);
        this.#waiting = this.#waiting.filter((entry) => entry.topic !== topic);
        const notSent = new NotSentError(`not sent: a request to ${topic} failed`, {
          cause: error,
        });
        for (const entry of waiting) entry.reject(notSent);
        release();
      },
    );
  }
}

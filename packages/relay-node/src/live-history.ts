/**
 * The last minutes of a relay's figures, for the live page's charts: one sample of the running
 * counters per sweep tick, kept in a fixed ring, so a page opened now still sees the recent past.
 */
import type { RelayCounters } from "@pubsubbud/relay-core";

/** One sample: counters are running totals (the page charts their differences). */
export interface HistoryPoint {
  /** When the sample was taken, ms since the Unix epoch. */
  t: number;
  /** Open connections on this instance. */
  connections: number;
  /** Publishes this instance accepted. */
  published: number;
  /** Messages that reached this instance from the broker, from every instance. */
  fannedOut: number;
  /** Messages this instance sent to its connections. */
  deliveries: number;
}

/** The recent samples as `/v1/stats` returns them under `history`. */
export interface StatsHistory {
  /** How far apart the samples are, in ms. */
  intervalMs: number;
  /** Oldest first. */
  points: HistoryPoint[];
}

/** A ring of the last `size` samples. */
export class LiveHistory {
  readonly #ring: HistoryPoint[] = [];
  #next = 0;

  /**
   * @param intervalMs how often `sample` is called, reported to the page
   * @param size how many samples are kept @default 300 (5 minutes at one per second)
   */
  constructor(
    readonly intervalMs: number,
    readonly size = 300,
  ) {}

  /** Records the figures of `stats` at `now`. */
  sample(
    stats: {
      connections: number;
      counters: Pick<RelayCounters, "published" | "fannedOut" | "deliveries">;
    },
    now = Date.now(),
  ): void {
    const { published, fannedOut, deliveries } = stats.counters;
    this.#ring[this.#next] = {
      t: now,
      connections: stats.connections,
      published,
      fannedOut,
      deliveries,
    };
    this.#next = (this.#next + 1) % this.size;
  }

  /** The kept samples, oldest first. */
  history(): StatsHistory {
    return {
      intervalMs: this.intervalMs,
      points: [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)],
    };
  }
}

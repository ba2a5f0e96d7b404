/**
 * Shrunk counterexamples the model runs found, kept as fixed cases that replay on every target
 * (or the named ones). Each says what it caught; paste the `commands:` line of a failure report.
 */
import type { CommandData } from "./commands.js";

export interface Regression {
  /** What the sequence caught, as a sentence about behaviour. */
  readonly name: string;
  /** Target names it runs on; every target when absent. */
  readonly targets?: readonly string[];
  readonly commands: readonly CommandData[];
}

export const regressions: Regression[] = [
  {
    // Found by the model on the first round's SubscriptionIndex (fixed on main in 3bbdb72).
    name: "keeps delivering to a pattern subscriber after a co-subscriber of the identical pattern closes",
    commands: [
      { kind: "subscribe", slot: 0, pattern: "[!a]*" },
      { kind: "subscribe", slot: 2, pattern: "[!a]*" },
      { kind: "close", slot: 2 },
      { kind: "publish", slot: 0, channels: ["b.c", "inbox:0"], pipelined: false },
    ],
  },
  {
    // Found on Kafka: a fresh broker process forgets the ids it took, and its feed starts after them.
    name: "delivers a retried id once after the instance that first took it restarted",
    commands: [
      { kind: "subscribe", slot: 0, pattern: "a" },
      { kind: "publish", slot: 0, channels: ["a"], pipelined: false },
      { kind: "restart", instance: 0 },
      { kind: "retry", slot: 0, pick: 0 },
    ],
  },
  {
    // Found on PostgreSQL (shrunk to two messages; eight make the race show on every run):
    // pipelined inserts on a connection pool commit out of their sequence order.
    name: "keeps one publisher's pipelined messages in publish order",
    commands: [
      { kind: "subscribe", slot: 0, pattern: "*" },
      {
        kind: "publish",
        slot: 0,
        channels: ["a", "a.c", "a", "a.c", "a", "a.c", "a", "a.c"],
        pipelined: true,
      },
    ],
  },
];

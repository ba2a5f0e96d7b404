/**
 * Model-based conformance (docs/protocol.md §12): generated command sequences (connect,
 * subscribe, unsubscribe, publish awaited and pipelined, concurrent publishers, refused
 * publishes, retries, cuts and resumes, closes, relay restarts) run against every target and are
 * checked after each command against the reference model in ./model/. `npm test` runs a fixed
 * seed and the kept counterexamples; `npm run test:model` the longer run (PUBSUBBUD_MODEL_RUNS
 * sequences per target of up to PUBSUBBUD_MODEL_COMMANDS, seed PUBSUBBUD_MODEL_SEED or the clock).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { regressions } from "./model/regressions.js";
import { commandsArbitrary, newFigures, replay, runGenerated } from "./model/run.js";
import { type RelayTarget, targets } from "./targets.js";

const env = process.env;
const long = env.PUBSUBBUD_MODEL_LONG === "1";
const runs = Number(env.PUBSUBBUD_MODEL_RUNS ?? (long ? 20 : 4));
const seed = Number(env.PUBSUBBUD_MODEL_SEED ?? (long ? Date.now() % 2 ** 31 : 20_260_514));
const maxCommands = Number(env.PUBSUBBUD_MODEL_COMMANDS ?? (long ? 60 : 40));
/** A long run may shrink a counterexample for this long per target before it reports it. */
const SHRINK_BUDGET_MS = 10 * 60_000;

describe.each(targets)("model: $name", (factory) => {
  describe.skipIf(factory.unavailable)("against the running relay", () => {
    let target: RelayTarget;
    const figures = newFigures();
    let started = 0;

    beforeAll(async () => {
      started = Date.now();
      // A window and a dedupe memory no run outgrows: trimming has its own conformance cases.
      target = await factory.start({ window: 100_000, retainMs: 1_800_000 });
    }, 60_000);
    afterAll(async () => {
      await target?.close();
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(
        `model figures: ${factory.name}: ${figures.runs} runs (shrinking included), ${figures.commands} commands, ${figures.messages} messages, ${seconds} s (seed ${seed})\n`,
      );
    });

    it(
      `delivers what the reference model says on ${runs} generated command sequences`,
      async () => {
        await fc.assert(
          fc.asyncProperty(commandsArbitrary(maxCommands), (commands) =>
            runGenerated(target, commands, figures),
          ),
          {
            seed,
            numRuns: runs,
            // In CI the first failure is reported as found; a long run shrinks it first.
            endOnFailure: !long,
            ...(long ? { interruptAfterTimeLimit: runs * 120_000 + SHRINK_BUDGET_MS } : {}),
          },
        );
      },
      long ? runs * 180_000 + SHRINK_BUDGET_MS : 300_000,
    );

    for (const regression of regressions.filter(
      (r) => !r.targets || r.targets.includes(factory.name),
    ))
      it(regression.name, () => replay(target, regression.commands), 120_000);
  });
});

/**
 * Drives a model run: each command acts on the real clients and records the same events in the
 * reference model; then the driver waits for quiescence (every open client's marker on its own
 * inbox has come back, and with it everything due) and compares every client with the model.
 */
import fc from "fast-check";
import { waitUntil } from "../../helpers/wait.js";
import type { RelayTarget } from "../targets.js";
import { check, unexcusedMissing } from "./check.js";
import {
  applicable,
  type CommandData,
  commandDataArbitrary,
  INITIAL_SLOTS,
  instanceOf,
  visibleSubscriptions,
} from "./commands.js";
import {
  connect,
  inbox,
  pipeline,
  publish,
  refusedPublish,
  report,
  retry,
  subscribe,
  type World,
} from "./actions.js";
import { Harness } from "./harness.js";
import { type ModelClient, ReferenceModel } from "./reference.js";

/** How long a marker may take to come back before the run reports what is missing. */
const MARKER_TIMEOUT_MS = 15_000;
/** Once the marker is back, how long messages the model still expects may trail it. */
const TRAILING_MS = 1_000;

/** Totals over the runs of one target, for the report of a long run. */
export interface Figures {
  runs: number;
  commands: number;
  messages: number;
}

export const newFigures = (): Figures => ({ runs: 0, commands: 0, messages: 0 });

let namespaces = 0;

/** A fresh namespace with the initial clients connected, each listening on its own inbox. */
export async function startWorld(target: RelayTarget): Promise<World> {
  const model = new ReferenceModel({
    instances: target.wsUrls.length,
    totalOrder: target.totalOrder,
    sharedOffsets: target.sharedOffsets,
    restartKeepsHistory: target.restartKeepsHistory,
  });
  const namespace = `model-${++namespaces}-${Date.now().toString(36)}`;
  const harness = new Harness(target, namespace, () => model.now);
  const world: World = { model, harness, executed: [], answers: [] };
  for (let slot = 0; slot < INITIAL_SLOTS; slot++)
    await connect(world, slot, slot % model.traits.instances);
  await settle(world);
  return world;
}

/** Runs one command if it applies, then waits for quiescence and checks every client. */
export async function step(world: World, data: CommandData): Promise<void> {
  if (!applicable(world.model, data)) return;
  world.executed.push(data);
  world.model.steps++;
  await perform(world, data);
  await settle(world);
  const problems = [
    ...world.answers.splice(0),
    ...check(world.model, world.harness.observations()),
  ];
  if (problems.length > 0) throw new Error(report(world, problems));
}

/** Replays a fixed command list (a kept counterexample) on a fresh world. */
export async function replay(
  target: RelayTarget,
  commands: readonly CommandData[],
  figures?: Figures,
) {
  const world = await startWorld(target);
  try {
    for (const data of commands) await step(world, data);
  } finally {
    tally(world, figures);
    await world.harness.dispose();
  }
}

class ModelCommand implements fc.AsyncCommand<ReferenceModel, World> {
  readonly data: CommandData;
  constructor(data: CommandData) {
    this.data = data;
  }
  check(model: Readonly<ReferenceModel>): boolean {
    return applicable(model as ReferenceModel, this.data);
  }
  async run(_model: ReferenceModel, world: World): Promise<void> {
    await step(world, this.data);
  }
  toString(): string {
    return JSON.stringify(this.data);
  }
}

/** Generated command sequences of at most `maxCommands` commands. */
export function commandsArbitrary(maxCommands: number) {
  return fc.commands([commandDataArbitrary().map((data) => new ModelCommand(data))], {
    maxCommands,
    size: "max",
  });
}

/** Runs one generated sequence on a fresh world. */
export async function runGenerated(
  target: RelayTarget,
  commands: Iterable<fc.AsyncCommand<ReferenceModel, World>>,
  figures?: Figures,
): Promise<void> {
  const world = await startWorld(target);
  try {
    await fc.asyncModelRun(() => ({ model: world.model, real: world }), commands);
  } finally {
    tally(world, figures);
    await world.harness.dispose();
  }
}

function tally(world: World, figures: Figures | undefined): void {
  if (!figures) return;
  figures.runs++;
  figures.commands += world.model.steps;
  figures.messages += world.model.messages.length;
}

async function perform(world: World, data: CommandData): Promise<void> {
  const { model, harness } = world;
  const inSlot = (slot: number) => model.inSlot(slot) as ModelClient;
  switch (data.kind) {
    case "connect":
      return connect(world, data.slot, instanceOf(model, data.instance));
    case "subscribe": {
      const client = inSlot(data.slot);
      return subscribe(world, client, data.pattern === "inbox" ? inbox(client) : data.pattern);
    }
    case "unsubscribe": {
      const client = inSlot(data.slot);
      const visible = visibleSubscriptions(client);
      const sub = visible[data.pick % visible.length];
      if (!sub) return;
      harness.unsubscribe(harness.get(client.name), sub.key);
      model.unsubscribed(client, sub);
      return;
    }
    case "publish": {
      const client = inSlot(data.slot);
      // A cut client queues them; their acks come after its resume.
      if (client.status === "cut" || data.pipelined)
        return void (await pipeline(world, [[client, data.channels]], client.status === "cut"));
      for (const ref of data.channels) await publish(world, client, ref).answer;
      return;
    }
    case "concurrent":
      return void (await pipeline(
        world,
        data.slots.map((slot) => [inSlot(slot), data.channels] as const),
        false,
      ));
    case "subscribeDuring": {
      const [client, publisher] = [inSlot(data.slot), inSlot(data.publisher)];
      const pattern = data.pattern === "inbox" ? inbox(client) : data.pattern;
      const traffic = pipeline(world, [[publisher, data.channels]], false);
      await subscribe(world, client, pattern, { racing: true });
      await Promise.all([traffic, pipeline(world, [[publisher, data.channels]], false)]);
      return;
    }
    case "cutDuring": {
      const [client, publisher] = [inSlot(data.slot), inSlot(data.publisher)];
      const answers = data.channels.map((ref) => publish(world, publisher, ref).answer);
      await answers[Math.floor(answers.length / 2)];
      model.cut(client);
      await harness.cut(harness.get(client.name));
      await Promise.all(answers);
      return;
    }
    case "refused":
      return refusedPublish(world, inSlot(data.slot), data.channel);
    case "retry":
      return retry(world, inSlot(data.slot), data.pick);
    case "cut": {
      const client = inSlot(data.slot);
      void pipeline(world, [[client, data.inFlight]], true);
      model.cut(client);
      return harness.cut(harness.get(client.name));
    }
    case "resume": {
      const client = inSlot(data.slot);
      const start = model.resuming(client);
      world.answers.push(...(await harness.resume(harness.get(client.name))));
      model.settledAfter(client, start);
      return;
    }
    case "resumeDuring": {
      const [client, publisher] = [inSlot(data.slot), inSlot(data.publisher)];
      const start = model.resuming(client);
      const traffic = pipeline(world, [[publisher, data.channels]], false);
      world.answers.push(...(await harness.resume(harness.get(client.name))));
      await traffic;
      model.settledAfter(client, start);
      return;
    }
    case "close": {
      const client = inSlot(data.slot);
      model.close(client);
      return harness.close(harness.get(client.name));
    }
    case "restart": {
      const { start, clients } = model.restarting(instanceOf(model, data.instance));
      const reals = clients.map((client) => harness.get(client.name));
      const opens = reals.map((real) => real.opens);
      await harness.restart(instanceOf(model, data.instance));
      await Promise.all(reals.map((real, i) => harness.reopened(real, opens[i] as number)));
      for (const client of clients) model.settledAfter(client, start);
      return;
    }
  }
}

/**
 * Quiescence: every open client publishes a marker to its own inbox and waits for it; a marker
 * is due once acknowledged, so anything acknowledged before it is due too.
 */
async function settle(world: World): Promise<void> {
  const { model, harness } = world;
  await Promise.all(
    model.open().map(async (client) => {
      const real = harness.get(client.name);
      const { message, answer } = publish(world, client, "", { marker: true });
      const result = await answer;
      if (!result.ok)
        throw new Error(
          report(world, [`${client.name}'s marker: ${result.code} ${result.message}`]),
        );
      client.due = model.tick();
      const arrived = () => real.timeline.some((e) => e.type === "message" && e.id === message.id);
      await waitUntil(arrived, MARKER_TIMEOUT_MS);
      await waitUntil(() => unexcusedMissing(model, client, real) === 0, TRAILING_MS);
    }),
  );
}

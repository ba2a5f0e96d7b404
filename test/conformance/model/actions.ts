/**
 * What the commands do, each on the real clients and in the reference model together: a publish
 * is issued in the model as it is handed to the client, and its outcome is filed when it comes.
 */
import { type ChannelRef, type CommandData, retryable } from "./commands.js";
import type { Harness, PublishResult } from "./harness.js";
import { waitFor } from "../../helpers/wait.js";
import type { ModelClient, ModelMessage, ReferenceModel } from "./reference.js";

/** One model run: the model, the real clients, and what ran so far. */
export interface World {
  readonly model: ReferenceModel;
  readonly harness: Harness;
  readonly executed: CommandData[];
  /** Wrong answers seen while the command ran, reported with the step's deliveries. */
  readonly answers: string[];
}

/** Connects a new client in `slot`, subscribed to its own inbox (where its markers come). */
export async function connect(world: World, slot: number, instance: number): Promise<void> {
  const { model, harness } = world;
  const name = model.nextName();
  const real = await harness.connect(name, instance);
  // The relay names the inbox in welcome, from the client's secret id.
  await waitFor(() => real.client.inbox !== "", `${name}'s welcome`);
  const client = model.connect(name, slot, instance, real.client.inbox);
  await subscribe(world, client, inbox(client), { hidden: true });
}

/** Subscribes and waits for `ready`; a cut client's subscription is confirmed at its resume. */
export async function subscribe(
  world: World,
  client: ModelClient,
  pattern: string,
  options: { hidden?: boolean; racing?: boolean } = {},
) {
  const { model, harness } = world;
  const real = harness.get(client.name);
  const pending = harness.subscribe(real, pattern);
  if (client.status === "cut") {
    real.unconfirmed.set(pending.ready, pattern);
    pending.bind(model.subscribed(client, pattern, options).key);
    return;
  }
  const failed = await harness.confirmed(pending.ready);
  if (failed)
    throw new Error(report(world, [`${client.name} subscribing to ${pattern}: ${failed}`]));
  pending.bind(model.subscribed(client, pattern, options).key);
}

/** The client's private inbox channel, as its relay named it. */
export const inbox = (client: ModelClient) => client.inbox;

/** `inbox:<slot>` names the inbox of that slot's client, or the publisher's own when it is empty. */
function resolve(model: ReferenceModel, publisher: ModelClient, ref: ChannelRef): string {
  if (!ref.startsWith("inbox:")) return ref;
  return inbox(model.inSlot(Number(ref.slice(6))) ?? publisher);
}

/** Publishes one message and files its outcome in the model when it comes. */
export function publish(
  world: World,
  client: ModelClient,
  ref: ChannelRef,
  options: { marker?: boolean; headers?: Record<string, string> } = {},
): { message: ModelMessage; answer: Promise<PublishResult> } {
  const { model, harness } = world;
  const channel = options.marker ? inbox(client) : resolve(model, client, ref);
  const message = model.issue(client, channel, options.marker);
  const answer = harness.publish(
    harness.get(client.name),
    channel,
    message.id,
    options.headers,
    (result) => record(model, message, result),
  );
  return { message, answer };
}

function record(model: ReferenceModel, message: ModelMessage, result: PublishResult): void {
  if (result.ok) model.acked(message, result.offset);
  // publish_uncertain: the broker may have taken it.
  else if (result.code === "publish_refused" && result.wireCode !== "publish_uncertain")
    model.refused(message);
  else model.abandoned(message);
}

/**
 * Sends every publisher's messages without waiting (publishers interleaved one message at a
 * time), then waits for all answers unless `detach` (a cut client answers after its resume).
 */
export async function pipeline(
  world: World,
  publishers: ReadonlyArray<readonly [ModelClient, readonly ChannelRef[]]>,
  detach: boolean,
): Promise<void> {
  const longest = Math.max(...publishers.map(([, refs]) => refs.length));
  const answers: Array<Promise<PublishResult>> = [];
  for (let i = 0; i < longest; i++)
    for (const [client, refs] of publishers)
      if (refs[i] !== undefined) answers.push(publish(world, client, refs[i] as string).answer);
  if (!detach) await Promise.all(answers);
}

/** A publish with an empty header key, which the relay must refuse with `bad_headers`. */
export async function refusedPublish(
  world: World,
  client: ModelClient,
  ref: ChannelRef,
): Promise<void> {
  const result = await publish(world, client, ref, { headers: { "": "empty key" } }).answer;
  if (!result.ok && result.wireCode === "bad_headers") return;
  const got = result.ok ? `an ack (offset ${result.offset})` : `${result.code}/${result.wireCode}`;
  world.answers.push(`a publish with an empty header key got ${got}, not bad_headers`);
}

/** Sends an acknowledged message's id again: the same ack, no second delivery. */
export async function retry(world: World, client: ModelClient, pick: number): Promise<void> {
  const { model, harness } = world;
  const choices = retryable(model);
  const original = choices[pick % choices.length] as ModelMessage;
  const result = await harness.publish(harness.get(client.name), original.channel, original.id);
  const problem = !result.ok
    ? `retrying ${original.id} was refused: ${result.code}/${result.wireCode} ${result.message}`
    : model.traits.sharedOffsets && result.offset !== original.offset
      ? `retrying ${original.id} was acknowledged at offset ${result.offset}, the first copy at ${original.offset}`
      : undefined;
  if (problem) world.answers.push(problem);
}

/** The failure message of a step: what differs, the clients, and the commands so far. */
export function report(world: World, problems: string[]): string {
  const { model, executed } = world;
  const clients = model.clients.map(
    (c) => `${c.name}=slot ${c.slot} on instance ${c.instance + 1} (${c.status})`,
  );
  return [
    `the relay disagrees with the reference model after command ${executed.length}: ${JSON.stringify(executed.at(-1) ?? "setup")}`,
    ...problems,
    `clients: ${clients.join(", ")}`,
    `commands: ${JSON.stringify(executed)}`,
  ].join("\n");
}

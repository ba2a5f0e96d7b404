/**
 * The commands of a model run as plain data (so a shrunk counterexample prints as JSON and is
 * pasted back as a fixed regression case), their preconditions on the model, and the fast-check
 * arbitraries that generate them.
 */
import fc from "fast-check";
import type { ModelClient, ReferenceModel } from "./reference.js";

/** A channel, or `inbox:<slot>`: the inbox of the client in that slot (or the publisher's own). */
export type ChannelRef = string;

export type CommandData =
  | { kind: "connect"; slot: number; instance: number }
  /** `pattern` "inbox" is the client's own inbox channel; a cut client subscribes on resume. */
  | { kind: "subscribe"; slot: number; pattern: string }
  | { kind: "unsubscribe"; slot: number; pick: number }
  /** Awaited one by one, or pipelined (all sent, then the acks awaited); a cut client queues them. */
  | { kind: "publish"; slot: number; channels: ChannelRef[]; pipelined: boolean }
  /** Two clients pipeline at the same time (publishers on different instances interleave). */
  | { kind: "concurrent"; slots: [number, number]; channels: ChannelRef[] }
  /** A publish the relay must refuse (an empty header key: `bad_headers`). */
  | { kind: "refused"; slot: number; channel: ChannelRef }
  /** Publishes an acknowledged message's id again: acknowledged again, never delivered again. */
  | { kind: "retry"; slot: number; pick: number }
  /** Subscribes while `publisher` pipelines; `channels` again once `ready` resolved. */
  | {
      kind: "subscribeDuring";
      slot: number;
      pattern: string;
      publisher: number;
      channels: ChannelRef[];
    }
  /** Cuts the client's TCP link, right after pipelining `inFlight` (their acks are lost). */
  | { kind: "cut"; slot: number; inFlight: ChannelRef[] }
  /** Cuts the client's link halfway through another client's pipelined publishes. */
  | { kind: "cutDuring"; slot: number; publisher: number; channels: ChannelRef[] }
  | { kind: "resume"; slot: number }
  /** Resumes the client while another pipelines: the replay meets live traffic. */
  | { kind: "resumeDuring"; slot: number; publisher: number; channels: ChannelRef[] }
  | { kind: "close"; slot: number }
  | { kind: "restart"; instance: number };

export const SLOTS = 4;
/** The slots connected before the first command (a closed slot can be connected again). */
export const INITIAL_SLOTS = 4;
/** At most this many subscriptions of its own per client (relay-worker allows 32 in all). */
const MAX_SUBSCRIPTIONS = 6;

/** Identical, overlapping and exact subscriptions over a handful of channels. */
export const PATTERNS = ["*", "a.*", "*.c", "a.?", "a.[bc]", "[!a]*", "a.b", "a", "b.c", "inbox"];
export const CHANNELS = ["a", "a.b", "a.c", "b.c", "b.b"];

const slot = fc.nat({ max: SLOTS - 1 });
const channel = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CHANNELS) },
  { weight: 1, arbitrary: slot.map((s) => `inbox:${s}`) },
);
const channels = (max: number) => fc.array(channel, { minLength: 1, maxLength: max });

/** Arbitraries of every command, weighted toward traffic. */
export function commandDataArbitrary(): fc.Arbitrary<CommandData> {
  return fc.oneof(
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("connect" as const),
        slot,
        instance: fc.nat({ max: 1 }),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("subscribe" as const),
        slot,
        pattern: fc.constantFrom(...PATTERNS),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("unsubscribe" as const), slot, pick: fc.nat(9) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("subscribeDuring" as const),
        slot,
        pattern: fc.constantFrom(...PATTERNS),
        publisher: slot,
        channels: channels(8),
      }),
    },
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant("publish" as const),
        slot,
        channels: channels(8),
        pipelined: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("concurrent" as const),
        slots: fc.tuple(slot, slot),
        channels: channels(6),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("refused" as const), slot, channel }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("retry" as const), slot, pick: fc.nat(99) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("cut" as const),
        slot,
        inFlight: fc.array(channel, { maxLength: 4 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("cutDuring" as const),
        slot,
        publisher: slot,
        channels: channels(8),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("resume" as const), slot }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("resumeDuring" as const),
        slot,
        publisher: slot,
        channels: channels(8),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("close" as const), slot }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("restart" as const), instance: fc.nat({ max: 1 }) }),
    },
  );
}

/** The instance a command names, on a target with `instances` of them. */
export const instanceOf = (model: ReferenceModel, instance: number) =>
  instance % model.traits.instances;

/** The messages a `retry` may send again: acknowledged inside the current dedupe memory. */
export function retryable(model: ReferenceModel) {
  return model.messages.filter(
    (m) => m.fate === "acked" && !m.marker && (m.acked as number) > model.historyLostAt,
  );
}

export function visibleSubscriptions(client: ModelClient) {
  return client.subs.filter((s) => !s.hidden && s.until === undefined);
}

/** Whether the command can run in this model state (fast-check skips it otherwise). */
export function applicable(model: ReferenceModel, data: CommandData): boolean {
  const openAt = (slot: number) => model.inSlot(slot)?.status === "open";
  switch (data.kind) {
    case "connect":
      return model.inSlot(data.slot) === undefined;
    case "subscribe": {
      const client = model.inSlot(data.slot);
      return client !== undefined && visibleSubscriptions(client).length < MAX_SUBSCRIPTIONS;
    }
    case "unsubscribe": {
      const client = model.inSlot(data.slot);
      return client !== undefined && visibleSubscriptions(client).length > 0;
    }
    case "publish":
    case "close":
      return model.inSlot(data.slot) !== undefined;
    case "concurrent":
      return data.slots[0] !== data.slots[1] && openAt(data.slots[0]) && openAt(data.slots[1]);
    case "subscribeDuring":
      return (
        openAt(data.slot) &&
        openAt(data.publisher) &&
        visibleSubscriptions(model.inSlot(data.slot) as ModelClient).length < MAX_SUBSCRIPTIONS
      );
    case "cutDuring":
      return data.slot !== data.publisher && openAt(data.slot) && openAt(data.publisher);
    case "refused":
    case "cut":
      return openAt(data.slot);
    case "retry":
      return openAt(data.slot) && retryable(model).length > 0;
    case "resume":
      return model.inSlot(data.slot)?.status === "cut";
    case "resumeDuring":
      return model.inSlot(data.slot)?.status === "cut" && openAt(data.publisher);
    case "restart":
      return true;
  }
}

/**
 * Compares what the clients received with what the reference model says they must, may and must
 * not receive, and reports exact differences: missing, duplicated, unexpected, reordered, order
 * that differs between clients, and gaps where none was allowed. Pure: no I/O.
 */
import type { ModelClient, ModelMessage, ModelSubscription, ReferenceModel } from "./reference.js";

export type TimelineEntry = { type: "message"; id: string } | { type: "gap"; tick: number };

/** What one client observed. */
export interface Observation {
  /** Per subscription key: the ids its handler got, in order. */
  readonly received: ReadonlyMap<string, readonly string[]>;
  /** Every handler call and every gap event, in the order they happened. */
  readonly timeline: readonly TimelineEntry[];
  /** Error events the client emitted (none is expected). */
  readonly errors: readonly string[];
}

const SHOWN = 40;

/** Every difference between the observations and the model, one line each (empty: they agree). */
export function check(model: ReferenceModel, observations: ReadonlyMap<string, Observation>) {
  const problems: string[] = [];
  for (const client of model.clients) {
    const seen = observations.get(client.name);
    if (!seen) continue;
    for (const error of seen.errors) problems.push(`${client.name} emitted error: ${error}`);
    for (const entry of seen.timeline)
      if (entry.type === "gap" && !model.gapAllowed(client, entry.tick))
        problems.push(
          `${client.name} (instance ${client.instance + 1}) got an unexpected gap event at tick ${entry.tick}: nothing it missed was allowed to be lost`,
        );
    for (const sub of client.subs) problems.push(...checkSubscription(model, client, sub, seen));
  }
  if (model.traits.totalOrder) problems.push(...checkSharedOrder(model, observations));
  return problems;
}

/** The missing messages of one client that the model cannot excuse, for the quiescence wait. */
export function unexcusedMissing(
  model: ReferenceModel,
  client: ModelClient,
  seen: Observation,
): number {
  let count = 0;
  for (const sub of client.subs)
    count += missing(model, client, sub, seen, new Set(seen.received.get(sub.key))).length;
  return count;
}

function checkSubscription(
  model: ReferenceModel,
  client: ModelClient,
  sub: ModelSubscription,
  seen: Observation,
): string[] {
  const got = seen.received.get(sub.key) ?? [];
  const counts = new Map<string, number>();
  for (const id of got) counts.set(id, (counts.get(id) ?? 0) + 1);
  const lines: string[] = [];
  const duplicated = [...counts].filter(([, n]) => n > 1);
  if (duplicated.length)
    lines.push(`duplicated: ${duplicated.map(([id, n]) => `${describe(model, id)} ×${n}`)}`);
  const unexpected = [...counts.keys()].filter((id) => {
    const message = model.message(id);
    return !message || model.expectation(sub, message) === "never";
  });
  if (unexpected.length)
    lines.push(`unexpected: ${unexpected.map((id) => describe(model, id)).join(", ")}`);
  const lost = missing(model, client, sub, seen, new Set(counts.keys()));
  if (lost.length)
    lines.push(`missing: ${lost.map((m) => describe(model, m.id)).join(", ")} (no gap event)`);
  const reordered = inversions(model, [...counts.keys()]);
  if (reordered.length) lines.push(`reordered: ${reordered.join("; ")}`);
  if (lines.length === 0) return [];
  const want = model.messages.filter((m) => model.expectation(sub, m) !== "never");
  const list = (ids: string[]) =>
    ids.length > SHOWN ? `${ids.slice(0, SHOWN).join(" ")} …(${ids.length})` : ids.join(" ");
  return [
    `${sub.key} ${JSON.stringify(sub.pattern)} of ${client.name} (instance ${client.instance + 1}, ${client.status}):`,
    ...lines.map((line) => `  ${line}`),
    `  got:  ${list([...got])}`,
    `  want: ${list(want.map((m) => (model.expectation(sub, m) === "maybe" ? `${m.id}?` : m.id)))}`,
  ];
}

/** Due messages the subscription must have and lacks, less those a gap event excuses. */
function missing(
  model: ReferenceModel,
  client: ModelClient,
  sub: ModelSubscription,
  seen: Observation,
  got: ReadonlySet<string>,
): ModelMessage[] {
  return model.messages.filter(
    (m) =>
      !got.has(m.id) &&
      (m.acked ?? Infinity) < client.due &&
      model.expectation(sub, m) === "must" &&
      !excusedByGap(model, client, m, seen),
  );
}

/**
 * A loss is allowed only when a gap event announced it: one seen after the message could have
 * entered the log, and before anything that follows the message in log order was delivered.
 * A client's own publishes queued while it was cut go out after its resume and are never lost.
 */
function excusedByGap(
  model: ReferenceModel,
  client: ModelClient,
  message: ModelMessage,
  seen: Observation,
): boolean {
  if (message.queued && message.publisher === client.name) return false;
  let laterDelivered = false;
  for (const entry of seen.timeline) {
    if (entry.type === "message") {
      const other = model.message(entry.id);
      if (other && model.before(message, other)) laterDelivered = true;
    } else if (!laterDelivered && entry.tick >= message.logFrom) return true;
  }
  return false;
}

/** Pairs a list holds against the model's order ("m5 before m4"), at most a few. */
function inversions(model: ReferenceModel, ids: string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < ids.length && found.length < 5; i++)
    for (let j = i + 1; j < ids.length && found.length < 5; j++) {
      const [a, b] = [model.message(ids[i] as string), model.message(ids[j] as string)];
      if (a && b && model.before(b, a)) found.push(`${a.id} arrived before ${b.id}`);
    }
  return found;
}

/** On a total-order target every client sees the messages it shares with another in one order. */
function checkSharedOrder(
  model: ReferenceModel,
  observations: ReadonlyMap<string, Observation>,
): string[] {
  const orders = model.clients.flatMap((client) => {
    const seen = observations.get(client.name);
    if (!seen) return [];
    const ids = seen.timeline.flatMap((e) => (e.type === "message" ? [e.id] : []));
    return [{ name: client.name, ids: [...new Set(ids)] }];
  });
  const problems: string[] = [];
  for (let i = 0; i < orders.length; i++)
    for (let j = i + 1; j < orders.length; j++) {
      const [a, b] = [orders[i], orders[j]] as [(typeof orders)[0], (typeof orders)[0]];
      const position = new Map(b.ids.map((id, k) => [id, k]));
      const common = a.ids.filter((id) => position.has(id));
      for (let k = 0; k + 1 < common.length; k++) {
        const [x, y] = [common[k] as string, common[k + 1] as string];
        if ((position.get(x) as number) > (position.get(y) as number)) {
          problems.push(
            `order differs: ${a.name} saw ${x} before ${y}, ${b.name} saw ${y} before ${x}`,
          );
          break;
        }
      }
    }
  return problems;
}

function describe(model: ReferenceModel, id: string): string {
  const m = model.message(id);
  if (!m) return `${id} (never published)`;
  const what = m.marker ? `marker of ${m.publisher}` : `${m.channel} by ${m.publisher}`;
  return `${id} (${what}${m.fate === "acked" ? "" : `, ${m.fate}`})`;
}

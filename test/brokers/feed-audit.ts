/**
 * Counts what one subscriber got against the publishers' log: every acknowledged message must be
 * delivered exactly once, or be covered by a gap event that comes after the subscriber's last
 * message published before it and before its first message published after it (in the same
 * stream); a refused (`publish_failed`) message must never be delivered.
 */

/** How a publish ended, after its retries. */
export type Outcome = "acked" | "uncertain" | "failed" | "other";

/** One message of the publishers' log. */
export interface Published {
  /** The dedupe key (sender and id): what the subscriber sees. */
  key: string;
  /** One publisher's ordered sequence (a sender on an instance). */
  stream: string;
  /** Its place in that stream. */
  index: number;
  /** How its first attempt ended. */
  first: Outcome;
  /** How it ended once retried (through another instance), if it was. */
  retried?: Outcome;
}

/** What the subscriber saw, in order: a message (by key) or a gap event. */
export type Seen = { key: string } | "gap";

export interface Audit {
  acked: number;
  uncertain: number;
  failed: number;
  retried: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  gaps: number;
  /** Acknowledged messages never delivered, with no gap event where they belong. */
  uncovered: string[];
  /** Refused messages that were delivered anyway. */
  failedDelivered: string[];
}

/** How a publish ended: acknowledged, or what `classify` makes of its error. */
export async function settled(
  publish: unknown,
  classify: (error: unknown) => Outcome,
): Promise<Outcome> {
  try {
    await publish;
    return "acked";
  } catch (error) {
    return classify(error);
  }
}

export function audit(log: readonly Published[], seen: readonly Seen[]): Audit {
  const known = new Map(log.map((p) => [p.key, p]));
  const at = new Map<string, number>();
  let duplicated = 0;
  const gapsAt: number[] = [];
  seen.forEach((event, position) => {
    if (event === "gap") gapsAt.push(position);
    else if (known.has(event.key)) {
      if (at.has(event.key)) duplicated++;
      else at.set(event.key, position);
    }
  });
  const outcome = (p: Published) => p.retried ?? p.first;
  const acked = log.filter((p) => outcome(p) === "acked");
  // Order holds within a stream, for messages delivered through their first attempt.
  let reordered = 0;
  const streams = new Map<string, Published[]>();
  for (const p of log) {
    const list = streams.get(p.stream) ?? [];
    list.push(p);
    streams.set(p.stream, list);
  }
  const uncovered: string[] = [];
  for (const list of streams.values()) {
    list.sort((x, y) => x.index - y.index);
    const inOrder = list.filter((p) => p.retried === undefined && at.has(p.key));
    let latest = -1;
    for (const p of inOrder) {
      const position = at.get(p.key) as number;
      if (position < latest) reordered++;
      latest = Math.max(latest, position);
    }
    for (const p of list) {
      if (outcome(p) !== "acked" || at.has(p.key)) continue;
      const before = inOrder.filter((q) => q.index < p.index).map((q) => at.get(q.key) as number);
      const after = inOrder.filter((q) => q.index > p.index).map((q) => at.get(q.key) as number);
      const from = Math.max(-1, ...before);
      // A retried message may have travelled in another stream: any later gap covers it.
      const to = p.retried === undefined ? Math.min(seen.length, ...after) : seen.length;
      if (!gapsAt.some((g) => g > from && g < to)) uncovered.push(p.key);
    }
  }
  return {
    acked: acked.length,
    uncertain: log.filter((p) => p.first === "uncertain").length,
    failed: log.filter((p) => outcome(p) === "failed").length,
    retried: log.filter((p) => p.retried !== undefined).length,
    delivered: at.size,
    lost: acked.filter((p) => !at.has(p.key)).length,
    duplicated,
    reordered,
    gaps: gapsAt.length,
    uncovered,
    failedDelivered: log.filter((p) => outcome(p) === "failed" && at.has(p.key)).map((p) => p.key),
  };
}

/** The audit's counts as one line for the test output. */
export function summary(report: Audit): string {
  return JSON.stringify({
    ...report,
    uncovered: report.uncovered.length,
    failedDelivered: report.failedDelivered.length,
  });
}

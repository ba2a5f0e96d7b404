/**
 * What a received list of message ids lacks or has too much of against the publisher's log, in
 * a few lines instead of a 2,000-line array diff: counts and the first ids of each kind.
 */
export interface DeliveryDiff {
  missing: string;
  duplicated: string;
  unexpected: string;
  /** The first place where two messages arrived against the log's order. */
  reordered: string;
}

const SHOWN = 5;
const summary = (ids: string[]) =>
  ids.length === 0
    ? "none"
    : `${ids.length}: ${ids.slice(0, SHOWN).join(" ")}${ids.length > SHOWN ? " …" : ""}`;

/** Compares `got` with `log` (every id once, in this order). */
export function deliveryDiff(log: readonly string[], got: readonly string[]): DeliveryDiff {
  const position = new Map(log.map((id, i) => [id, i]));
  const seen = new Set<string>();
  const duplicated: string[] = [];
  let reordered = "none";
  let last = -1;
  for (const id of got) {
    if (seen.has(id)) duplicated.push(id);
    seen.add(id);
    const at = position.get(id);
    if (at === undefined) continue;
    if (at < last && reordered === "none") reordered = `${id} after ${log[last]}`;
    last = Math.max(last, at);
  }
  return {
    missing: summary(log.filter((id) => !seen.has(id))),
    duplicated: summary(duplicated),
    unexpected: summary([...seen].filter((id) => !position.has(id))),
    reordered,
  };
}

/** The diff of a list that matches its log. */
export const NO_DIFF: DeliveryDiff = {
  missing: "none",
  duplicated: "none",
  unexpected: "none",
  reordered: "none",
};

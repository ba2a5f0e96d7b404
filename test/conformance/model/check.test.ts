/**
 * The checker against hand-made observations: each kind of difference is reported, and only the
 * losses a gap event announced are excused. (The relays are checked in model.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { check, type Observation, type TimelineEntry } from "./check.js";
import { delivers } from "./match.js";
import { type ModelClient, ReferenceModel, type TargetTraits } from "./reference.js";

const traits: TargetTraits = {
  instances: 2,
  totalOrder: true,
  sharedOffsets: true,
  restartKeepsHistory: true,
};

/** Two clients subscribed to `a.*`; c1 publishes three messages, each acked before the next. */
function scene(overrides: Partial<TargetTraits> = {}) {
  const model = new ReferenceModel({ ...traits, ...overrides });
  const [c1, c2] = [0, 1].map((slot) =>
    model.connect(model.nextName(), slot, slot, `id${slot}`),
  ) as [ModelClient, ModelClient];
  const subs = [c1, c2].map((c) => model.subscribed(c, "a.*"));
  const sent = ["a.x", "a.y", "a.z"].map((channel) => {
    const message = model.issue(c1, channel);
    model.acked(message, String(message.seq));
    return message.id;
  });
  for (const c of [c1, c2]) c.due = model.tick();
  const observe = (lists: Record<string, TimelineEntry[]>) =>
    new Map(
      Object.entries(lists).map(([name, timeline]): [string, Observation] => {
        const key = subs.find((s) => s.key.startsWith(`${name}/`))?.key as string;
        const ids = timeline.flatMap((e) => (e.type === "message" ? [e.id] : []));
        return [name, { received: new Map([[key, ids]]), timeline, errors: [] }];
      }),
    );
  return { model, c1, c2, sent, observe };
}

const msgs = (...ids: string[]): TimelineEntry[] => ids.map((id) => ({ type: "message", id }));

describe("the model checker", () => {
  it("accepts exactly the expected deliveries", () => {
    const { model, sent, observe } = scene();
    expect(check(model, observe({ c1: msgs(...sent), c2: msgs(...sent) }))).toEqual([]);
  });

  it("reports missing, duplicated, unexpected and reordered messages", () => {
    const { model, sent, observe } = scene();
    const [m1, m2, m3] = sent as [string, string, string];
    const report = check(model, observe({ c1: msgs(m1, m3), c2: msgs(m2, m1, m1, m3, "m99") }));
    const text = report.join("\n");
    expect(text).toMatch(new RegExp(`missing: ${m2} `));
    expect(text).toMatch(new RegExp(`duplicated: ${m1} .*×2`));
    expect(text).toMatch(/unexpected: m99 \(never published\)/);
    expect(text).toMatch(new RegExp(`reordered: ${m2} arrived before ${m1}`));
  });

  it("reports clients that disagree on the order of concurrent messages on a total-order target", () => {
    const { model, c1, c2, observe } = scene();
    const [x, y] = [c1, c2].map((c) => model.issue(c, "a.q"));
    for (const m of [x, y]) if (m) model.acked(m, "9");
    for (const c of [c1, c2]) c.due = model.tick();
    const ids = model.messages.map((m) => m.id);
    const [m1, m2, m3, mx, my] = ids as [string, string, string, string, string];
    const report = check(
      model,
      observe({ c1: msgs(m1, m2, m3, mx, my), c2: msgs(m1, m2, m3, my, mx) }),
    );
    expect(report).toEqual([`order differs: c1 saw ${mx} before ${my}, c2 saw ${my} before ${mx}`]);
  });

  it("excuses a loss only behind a gap event that was allowed, and reports a gap that was not", () => {
    const { model, c2, sent, observe } = scene();
    const [m1, m2, m3] = sent as [string, string, string];
    const gap = (tick: number): TimelineEntry => ({ type: "gap", tick });
    const unannounced = check(
      model,
      observe({ c1: msgs(...sent), c2: [...msgs(m1), gap(model.now), ...msgs(m3)] }),
    );
    expect(unannounced.join("\n")).toMatch(/unexpected gap event/);
    c2.gapWindows.push([0, model.now]);
    expect(
      check(model, observe({ c1: msgs(...sent), c2: [...msgs(m1), gap(model.now), ...msgs(m3)] })),
    ).toEqual([]);
    // A gap after a later message was delivered does not excuse the earlier loss.
    const late = check(
      model,
      observe({ c1: msgs(...sent), c2: [...msgs(m1, m3), gap(model.now)] }),
    );
    expect(late.join("\n")).toMatch(new RegExp(`missing: ${m2} `));
  });

  it("never expects a refused publish, nor one acknowledged before the subscription was ready", () => {
    const { model, c1, observe, sent } = scene();
    const refused = model.issue(c1, "a.r");
    model.refused(refused);
    const late = model.subscribed(c1, "*");
    expect(model.expectation(late, model.message(sent[0] as string) as never)).toBe("never");
    const report = check(
      model,
      observe({ c1: [...msgs(...sent), ...msgs(refused.id)], c2: msgs(...sent) }),
    );
    expect(report.join("\n")).toMatch(
      new RegExp(`unexpected: ${refused.id} \\(a.r by c1, refused\\)`),
    );
  });
});

describe("the model's matcher", () => {
  it("follows fnmatch and keeps inboxes to their exact subscription", () => {
    const cases: Array<[string, string, boolean]> = [
      ["*", "a.b", true],
      ["a.?", "a.b", true],
      ["a.?", "a.bc", false],
      ["a.[bc]", "a.c", true],
      ["[!a]*", "b.c", true],
      ["[!a]*", "a.c", false],
      ["a[", "a[", true],
      ["*", "_inbox.x", false],
      ["_inbox.x", "_inbox.x", true],
    ];
    for (const [pattern, channel, expected] of cases)
      expect([pattern, channel, delivers(pattern, channel)]).toEqual([pattern, channel, expected]);
  });
});

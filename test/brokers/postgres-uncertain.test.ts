/**
 * A PostgreSQL publish whose COMMIT outcome is unknown throws PublishUncertainError (the relay
 * answers `publish_uncertain`, the client retries with the same id); one that provably failed
 * throws a plain error and is never delivered. The connection is failed by a proxy at the exact
 * statement (postgres-proxy.ts); the server, the broker and the retry are real.
 */
import { type LogMessage, PublishUncertainError } from "@pubsubbud/relay-core";
import { createPostgresBroker } from "@pubsubbud/relay-node/brokers/postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { dropTable, freshTable, PG_URL, pgMissing } from "./postgres-helpers.js";
import { type CutMode, type StatementCut, startStatementCut } from "./postgres-proxy.js";

describe.skipIf(pgMissing)("PostgreSQL publish outcomes when the connection fails", () => {
  const table = freshTable("uncertain");
  let proxy: StatementCut;
  beforeAll(async () => {
    proxy = await startStatementCut();
    // Creates the table before any broker runs behind the proxy.
    await (await createPostgresBroker({ url: PG_URL, table })).close();
  });
  afterAll(async () => {
    await proxy?.[Symbol.asyncDispose]();
    await dropTable(table);
  });

  /** A broker behind the proxy, one direct, and a listener (on the direct one) of namespace `ns`. */
  async function setup(ns: string) {
    const cut = await createPostgresBroker({ url: proxy.url, table, publishTimeoutMs: 1_000 });
    const direct = await createPostgresBroker({ url: PG_URL, table });
    const received: LogMessage[] = [];
    await direct.listen(ns, { message: (m) => void received.push(m), gap: () => {} });
    const input = (id: string) => ({ channel: "feed.x", id, data: id });
    return {
      cut,
      direct,
      received,
      input,
      /** Publishes on the proxied broker while the proxy fails the statement carrying `marker`. */
      async fail(id: string, marker: string, mode: CutMode) {
        const answered = proxy.arm(marker, mode);
        const error = await Promise.resolve(cut.publish(ns, input(id))).then(
          () => undefined,
          (e: unknown) => e,
        );
        return { error, answered };
      },
      [Symbol.asyncDispose]: async () => {
        await Promise.all([cut.close(), direct.close()]);
      },
    };
  }

  it("throws PublishUncertainError when the connection dies with COMMIT's answer, and a retry with the same id is the copy that landed", async () => {
    await using s = await setup("lost");
    const { error, answered } = await s.fail("m1", "commit\0", "lose-answer");
    expect(error).toBeInstanceOf(PublishUncertainError);
    await answered;
    const retry = await s.direct.publish("lost", s.input("m1"));
    expect(retry.duplicate).toBe(true);
    // The pool dropped the dead connection: the proxied broker publishes again.
    await s.cut.publish("lost", s.input("m2"));
    await waitFor(() => s.received.length >= 2, "m1 and m2");
    expect(s.received.map((m) => [m.id, m.offset])).toEqual([
      ["m1", retry.offset],
      ["m2", expect.any(String)],
    ]);
  });

  it("throws PublishUncertainError when COMMIT's answer never comes, and publishes again on a fresh connection", async () => {
    await using s = await setup("held");
    const { error } = await s.fail("h1", "commit\0", "hold-answer");
    expect(error).toBeInstanceOf(PublishUncertainError);
    // The timed-out connection waits for an answer that never comes: it must not be pooled again.
    for (let i = 0; i < 6; i++) await s.cut.publish("held", s.input(`h${i + 2}`));
    await waitFor(() => s.received.some((m) => m.id === "h7"), "the later publishes");
  });

  it("throws a plain error when the connection dies before COMMIT, and never delivers that message", async () => {
    await using s = await setup("refused");
    const { error } = await s.fail("r1", `insert into "${table}"`, "drop");
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PublishUncertainError);
    await s.cut.publish("refused", s.input("r2"));
    await waitFor(() => s.received.some((m) => m.id === "r2"), "the next message");
    expect(s.received.map((m) => m.id)).toEqual(["r2"]);
    expect(await s.direct.publish("refused", s.input("r1"))).toMatchObject({ duplicate: false });
  });

  it("refuses only the publish whose data PostgreSQL cannot store, and writes the rest of its batch in order", async () => {
    await using s = await setup("values");
    const outcomes = await Promise.allSettled(
      ["v1", "v2", "v3"].map((id) =>
        s.direct.publish("values", { ...s.input(id), data: id === "v2" ? "nul \u0000" : id }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    await waitFor(() => s.received.some((m) => m.id === "v3"), "v3");
    expect(s.received.map((m) => m.id)).toEqual(["v1", "v3"]);
  });
});

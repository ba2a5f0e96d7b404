/**
 * The PostgreSQL LISTEN session on the real server (127.0.0.1:5432, database `test`): wakes go to
 * the feed of a listened namespace only, and of two instances exactly one takes the bridge lock
 * and appends a foreign NOTIFY publish. The feed and the log append are recorders here: what is
 * under test is the session's routing, not the log.
 */
import type { PublishInput } from "@pubsubbud/relay-core";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { NotifySession } from "./postgres-notify.js";

const URL = "postgres://postgres@127.0.0.1:5432/test";
const sessions: NotifySession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

function instance(channel: string, table: string) {
  const woken: string[] = [];
  const published: Array<[string, PublishInput]> = [];
  let health: boolean | undefined;
  const session = new NotifySession({
    url: URL,
    connectTimeoutMs: 5_000,
    channel,
    table,
    feed: {
      has: (ns) => ns === "listened",
      wake: (ns) => woken.push(ns),
      wakeAll: () => woken.push("*"),
    },
    publish: async (ns, input) => {
      published.push([ns, input]);
      return { offset: "1", duplicate: false };
    },
    log: () => {},
    onHealth: (up) => {
      health = up;
    },
  });
  sessions.push(session);
  return { session, woken, published, health: () => health };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe("NotifySession (PostgreSQL LISTEN)", () => {
  it("wakes only listened namespaces, and bridges a foreign publish on exactly one instance", async () => {
    const run = `t${Date.now().toString(36)}`;
    const one = instance(run, `${run}_log`);
    const two = instance(run, `${run}_log`);
    await one.session.connect();
    await two.session.connect();
    expect([one.health(), two.health()]).toEqual([true, true]);
    expect(one.woken).toEqual(["*"]);
    expect([one.session.bridging, two.session.bridging].sort()).toEqual([false, true]);

    const db = new pg.Client({ connectionString: URL });
    await db.connect();
    try {
      await db.query(`select pg_notify($1, 'listened'), pg_notify($1, 'elsewhere')`, [run]);
      await db.query(`select pg_notify($1, $2)`, [
        `${run}_publish`,
        JSON.stringify({ namespace: "ns", channel: "sensor.t", data: { c: 21 } }),
      ]);
      await db.query(`select pg_notify($1, '{"channel":"no.namespace"}')`, [`${run}_publish`]);
      await until(() => one.woken.length === 2 && two.woken.length === 2);
      await until(() => one.published.length + two.published.length === 1);
    } finally {
      await db.end();
    }
    expect(one.woken).toEqual(["*", "listened"]);
    expect(two.woken).toEqual(["*", "listened"]);
    const bridged = [...one.published, ...two.published];
    expect(bridged).toHaveLength(1);
    expect(bridged[0]?.[0]).toBe("ns");
    expect(bridged[0]?.[1]).toMatchObject({ channel: "sensor.t", data: { c: 21 } });
    const bridger = one.session.bridging ? one : two;
    expect(bridger.published).toHaveLength(1);
  });
});

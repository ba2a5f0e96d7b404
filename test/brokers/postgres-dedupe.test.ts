/**
 * PostgreSQL deduplicates on relay-core's `dedupeKey` (the id scoped to the relay-stamped
 * sender), on every instance, and migrates tables of the previous version (a unique index on the
 * bare id) on start.
 */
import { createClient, type Message, type PubsubBudClient } from "@pubsubbud/client";
import { dedupeKey } from "@pubsubbud/relay-core";
import type { RunningRelay } from "@pubsubbud/relay-node";
import { createPostgresBroker } from "@pubsubbud/relay-node/brokers/postgres";
import fc from "fast-check";
import WebSocket from "ws";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import {
  dropTable,
  freshTable,
  PG_URL,
  pgMissing,
  sql,
  startInstances,
} from "./postgres-helpers.js";

/** The objects the previous version created: no key column, a unique index on (namespace, id). */
async function createPreviousVersionTable(table: string): Promise<void> {
  await sql(`create table "${table}" (
      namespace text not null, seq bigint not null, channel text not null, id text not null,
      data jsonb not null, headers jsonb, ts timestamptz not null default clock_timestamp(),
      primary key (namespace, seq));
    create unique index "${table}_id" on "${table}" (namespace, id);
    create sequence "${table}_seq";
    create table "${table}_meta" (namespace text primary key, epoch text not null, trimmed bigint not null default 0);
    create table "${table}_groups" (namespace text not null, grp text not null, cursor bigint not null, primary key (namespace, grp));
    create function "${table}_notify"() returns trigger language plpgsql as $$
      begin perform pg_notify('pubsubbud', new.namespace); return null; end $$;
    create trigger "${table}_notify" after insert on "${table}"
      for each row execute function "${table}_notify"()`);
}

describe.skipIf(pgMissing)("PostgreSQL dedupe scoped to the sender", () => {
  const tables: string[] = [];
  const table = (tag: string) => {
    const name = freshTable(tag);
    tables.push(name);
    return name;
  };
  const clients: PubsubBudClient[] = [];
  afterAll(async () => {
    for (const client of clients) client.close();
    for (const name of tables) await dropTable(name);
  });

  it("delivers one id from two senders twice, and a sender's retried id once, whichever instance it reaches", async () => {
    await using relays = await startInstances(table("senders"), {
      authenticate: ({ token }) => ({ user: token ?? "" }),
    });
    const [one, two] = relays;
    const open = (relay: RunningRelay, user: string) => {
      const client = createClient({ url: `${relay.wsUrl}/ns/dd`, WebSocket, token: user });
      clients.push(client);
      return client;
    };
    const received: Message[] = [];
    await open(two, "carol").subscribe("feed.*", (m) => void received.push(m)).ready;
    const alice = await open(one, "alice").publish("feed.a", "alice", { id: "same" });
    const bob = await open(two, "bob").publish("feed.a", "bob", { id: "same" });
    const retry = await open(two, "alice").publish("feed.a", "alice again", { id: "same" });
    const last = await open(one, "alice").publish("feed.a", "last");
    await waitFor(() => received.some((m) => m.id === last.id), "the last message");
    expect(received.map((m) => [m.data, m.headers?.sender])).toEqual([
      ["alice", "alice"],
      ["bob", "bob"],
      ["last", "alice"],
    ]);
    expect(bob.offset).not.toBe(alice.offset);
    expect(retry.offset).toBe(alice.offset);
  });

  it("migrates a table of the previous version on start: its rows keep deduplicating by sender and id, and another sender's id is no longer refused", async () => {
    const name = table("previous");
    await createPreviousVersionTable(name);
    await sql(
      `insert into "${name}" (namespace, seq, channel, id, data, headers) values
       ('mig', nextval('"${name}_seq"'), 'feed.a', 'old-1', '1', '{"sender":"alice"}'),
       ('mig', nextval('"${name}_seq"'), 'feed.a', 'old-2', '2', null)`,
    );
    const [first, second] = await Promise.all([
      createPostgresBroker({ url: PG_URL, table: name }),
      createPostgresBroker({ url: PG_URL, table: name }),
    ]);
    try {
      const publish = (id: string, sender?: string) =>
        (second as typeof first).publish("mig", {
          channel: "feed.a",
          id,
          data: null,
          ...(sender === undefined ? {} : { headers: { sender } }),
        });
      expect(await publish("old-1", "alice")).toEqual({ offset: "1", duplicate: true });
      expect(await publish("old-2")).toEqual({ offset: "2", duplicate: true });
      expect(await publish("old-1", "bob")).toMatchObject({ duplicate: false });
      expect(await publish("old-2", "bob")).toMatchObject({ duplicate: false });
      const indexes = await sql<{ indexname: string }>(
        "select indexname from pg_indexes where tablename = $1 order by indexname",
        [name],
      );
      expect(indexes.map((i) => i.indexname)).toEqual([`${name}_key`, `${name}_pkey`]);
    } finally {
      await Promise.all([first.close(), second?.close()]);
    }
    // A third start finds everything in place.
    await (await createPostgresBroker({ url: PG_URL, table: name })).close();
  });

  it("keys a backend's rows exactly as dedupeKey keys the relay's", async () => {
    const name = table("keys");
    await (await createPostgresBroker({ url: PG_URL, table: name })).close();
    const text = fc.string({ unit: "grapheme", maxLength: 12 });
    const sender = fc.oneof(text, fc.integer(), fc.constant(null), fc.constant(undefined));
    const cases = fc.sample(
      fc.tuple(
        sender,
        text.filter((id) => id.length > 0),
      ),
      300,
    );
    // Characters past U+FFFF count twice in JavaScript's length: the SQL side must agree.
    expect(cases.some(([s, id]) => /[\u{10000}-\u{10FFFF}]/u.test(`${s}${id}`))).toBe(true);
    const rows = await sql<{ key: string }>(
      `select "${name}_key"(h::jsonb, i) as key from unnest($1::text[], $2::text[]) with ordinality as u(h, i, n) order by n`,
      [
        cases.map(([s]) => (s === undefined ? null : JSON.stringify({ sender: s }))),
        cases.map(([, id]) => id),
      ],
    );
    const expected = cases.map(([s, id]) =>
      dedupeKey(s === undefined ? { id } : { id, headers: { sender: s } }),
    );
    expect(rows.map((row) => row.key)).toEqual(expected);
  });
});

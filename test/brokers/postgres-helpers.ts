/**
 * What the PostgreSQL suites share: a fresh log table per suite (so offsets start at 1 and cross
 * 9→10, 99→100, 999→1000 inside the test), two relay-node instances on it, and the checks of a
 * namespace log against what the publishers saw acknowledged.
 */
import type { LogMessage } from "@pubsubbud/relay-core";
import { compareDecimalOffsets } from "@pubsubbud/relay-core";
import { type RelayOptions, type RunningRelay, startRelay } from "@pubsubbud/relay-node";
import { createPostgresBroker } from "@pubsubbud/relay-node/brokers/postgres";
import pg from "pg";
import { missing } from "../helpers/requirements.js";
import { reachable, services } from "../helpers/services.js";

export const PG_URL = "postgres://postgres@127.0.0.1:5432/test";

/** Why the suites skip (PostgreSQL is not running), or undefined. */
export const pgMissing = missing(
  "PostgreSQL on 127.0.0.1:5432",
  await reachable(services.postgres.port),
  services.postgres.fix,
);

/** A table name no other run uses. */
export const freshTable = (tag: string) =>
  `pgt_${tag}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Runs SQL on the shared server outside any broker (a backend, an older version, cleanup). */
export async function sql<T = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Drops every object a broker created for `table`. */
export async function dropTable(table: string): Promise<void> {
  await sql(`drop table if exists "${table}", "${table}_meta", "${table}_groups" cascade;
    drop sequence if exists "${table}_seq";
    drop function if exists "${table}_notify"() cascade;
    drop function if exists "${table}_stamp"() cascade;
    drop function if exists "${table}_key"(jsonb, text)`);
}

/** Two relay-node instances, each with its own broker on `table`; closed together. */
export async function startInstances(
  table: string,
  options: Omit<RelayOptions, "broker"> = {},
): Promise<[RunningRelay, RunningRelay] & AsyncDisposable> {
  const relays = await Promise.all(
    [0, 1].map(async () =>
      startRelay({
        port: 0,
        broker: await createPostgresBroker({ url: PG_URL, table }),
        // The suites pipeline thousands of publishes from one connection at once.
        limits: { publishBurst: 100_000, publishRatePerSecond: 100_000 },
        ...options,
      }),
    ),
  );
  return Object.assign(relays as [RunningRelay, RunningRelay], {
    [Symbol.asyncDispose]: async () => {
      await Promise.all(relays.map((relay) => relay.close(1000)));
    },
  });
}

/** An acknowledged publish: what the publisher knows of its message. */
export interface Acked {
  id: string;
  offset: string;
}

/** The namespace log as the acknowledgements describe it: acked messages by offset. */
export function logOrder(acked: readonly Acked[]): string[] {
  return [...acked].sort((a, b) => compareDecimalOffsets(a.offset, b.offset)).map((a) => a.id);
}

/** Offsets as delivered, for messages that must arrive in log order. */
export const offsetsOf = (messages: readonly Pick<LogMessage, "offset">[]) =>
  messages.map((m) => m.offset);

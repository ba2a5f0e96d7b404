/** A PostgreSQL log row as the broker selects it, and as the message it is. */
import type { Headers } from "@pubsubbud/protocol";
import type { LogMessage } from "@pubsubbud/relay-core";

/** A selected log row (see {@link COLUMNS}). */
export interface Row {
  pos: string;
  channel: string;
  id: string;
  data: unknown;
  headers: Headers | null;
  ts: Date;
}

/**
 * The columns of a {@link Row}, from the log table aliased `l`. The offset column is `pos`, never
 * `seq`: an ORDER BY names an output column before a table column, so `seq::text as seq … order
 * by seq` would sort text (10 before 9).
 */
export const COLUMNS = "l.seq::text as pos, l.channel, l.id, l.data, l.headers, l.ts";

export function toMessage(row: Row): LogMessage {
  const message: LogMessage = {
    channel: row.channel,
    id: row.id,
    data: row.data,
    ts: row.ts.getTime(),
    offset: row.pos,
  };
  if (row.headers) message.headers = row.headers;
  return message;
}

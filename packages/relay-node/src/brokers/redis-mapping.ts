/**
 * How a PubsubBud message sits in a Redis Stream entry: fields `channel`, `data` (the JSON text),
 * `id`, `headers` (JSON) and, on a relay's append, `n` (the namespace's count of relay appends);
 * the entry id is the offset. Pure functions, no connection.
 */
import type { Headers } from "@pubsubbud/protocol";
import type { LogMessage } from "@pubsubbud/relay-core";
import type { StreamEntry } from "./redis-group.js";
import { decodeData } from "./shared.js";

/** Orders Redis stream ids (`<ms>-<seq>`); `""` is older than every id. */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  if (a === "") return -1;
  if (b === "") return 1;
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq < 0n ? -1 : seq > 0n ? 1 : 0;
}

/** The `n` a relay's append carries (see PUBLISH); undefined for a foreign producer's entry. */
export function appendsOf([, fields]: StreamEntry): number | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === "n") return Number(fields[i + 1]);
  return undefined;
}

/** A stream entry as a log message; entries without a `channel` field are not messages. */
export function toMessage([offset, fields]: StreamEntry): LogMessage | undefined {
  const get = (name: string) => {
    for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const channel = get("channel");
  if (channel === undefined) return undefined;
  const headers = get("headers");
  const message: LogMessage = {
    channel,
    id: get("id") ?? `redis-${offset}`,
    data: decodeData(get("data") ?? "null"),
    ts: Number(offset.slice(0, offset.indexOf("-"))),
    offset,
  };
  if (headers !== undefined) message.headers = decodeData(headers) as Headers;
  return message;
}

/**
 * The Redis broker's Lua scripts: each runs as one atomic step on the server, so relay instances
 * agree on order, dedupe and the bridge role without locks of their own.
 */
import type { Redis } from "ioredis";
import type { StreamEntry } from "./redis-group.js";

// Appends unless the id was seen: one atomic step, so instances agree on order and dedupe. Each
// entry carries `n`, the namespace's count of relay appends, so a reader sees any it missed.
const PUBLISH = `
local seen = redis.call('GET', KEYS[2])
if seen then return {seen, 1} end
redis.call('SET', KEYS[3], ARGV[5], 'NX')
local n = redis.call('INCR', KEYS[4])
local offset
if ARGV[4] == '' then
  offset = redis.call('XADD', KEYS[1], 'MAXLEN', '=', ARGV[6], '*', 'channel', ARGV[2], 'id', ARGV[1], 'data', ARGV[3], 'n', n)
else
  offset = redis.call('XADD', KEYS[1], 'MAXLEN', '=', ARGV[6], '*', 'channel', ARGV[2], 'id', ARGV[1], 'data', ARGV[3], 'headers', ARGV[4], 'n', n)
end
local t = redis.call('TIME')
local minid = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[7])
if minid > 0 then redis.call('XTRIM', KEYS[1], 'MINID', minid) end
redis.call('SET', KEYS[2], offset, 'PX', ARGV[8])
return {offset, 0}`;

// The epoch (made if missing), the newest id ever given, and whether every entry after the id in
// ARGV[2] is still there (trimming removes the oldest first, so it is while that entry is, or
// when nothing was ever trimmed); with ARGV[3] = '1', also those entries, read in the same step;
// and the count of relay appends so far (see PUBLISH).
const STATE = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then redis.call('SET', KEYS[2], ARGV[1]); epoch = ARGV[1] end
local n = tonumber(redis.call('GET', KEYS[3]) or '0')
if redis.call('EXISTS', KEYS[1]) == 0 then return {epoch, '', ARGV[2] == '' and 1 or 0, {}, n} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, added, length = '', 0, 0
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
  if info[i] == 'entries-added' then added = info[i + 1] end
  if info[i] == 'length' then length = info[i + 1] end
end
local intact = 0
if ARGV[2] == '' then
  if added == length then intact = 1 end
elseif ARGV[2] == last or #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 1 then
  intact = 1
end
local entries = {}
if intact == 1 and ARGV[3] == '1' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. (ARGV[2] == '' and '0-0' or ARGV[2]), '+')
end
return {epoch, last, intact, entries, n}`;

// Keeps (or takes) the bridge role for a namespace; 1 when this instance holds it.
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** What the state script answers about a namespace's log. */
export type LogState = [
  epoch: string,
  last: string,
  intact: number,
  entries: StreamEntry[],
  appends: number,
];

export interface Scripts {
  pubsubbudPublish(...args: Array<string | number>): Promise<[string, number]>;
  pubsubbudState(...args: string[]): Promise<LogState>;
  pubsubbudClaim(...args: Array<string | number>): Promise<number>;
}

/** Defines the scripts on `redis` as commands, and returns it typed with them. */
export function defineScripts(redis: Redis): Redis & Scripts {
  redis.defineCommand("pubsubbudPublish", { numberOfKeys: 4, lua: PUBLISH });
  redis.defineCommand("pubsubbudState", { numberOfKeys: 3, lua: STATE });
  redis.defineCommand("pubsubbudClaim", { numberOfKeys: 1, lua: CLAIM });
  return redis as Redis & Scripts;
}

/**
 * A host time kept as milliseconds since this module loaded: a small integer, which V8 stores in
 * the object's field itself (for 24 days of uptime), where an epoch time in milliseconds is a
 * 16-byte number on the heap, made again by every update. Sessions keep their times this way.
 */
const BASE = Date.now();

/** `now` (the host's clock) as a small time: a small integer whenever it fits. */
export function toSmallTime(now: number): number {
  const ms = now - BASE;
  // `| 0` makes the small integer; a time outside its range stays a number as it is.
  return ms >= 0 && ms < 2 ** 31 ? ms | 0 : ms;
}

/** A small time back on the host's clock. */
export function fromSmallTime(time: number): number {
  return time + BASE;
}

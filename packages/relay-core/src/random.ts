// Web Crypto exists in every runtime PubsubBud supports (Node ≥ 20, browsers, workerd).
declare const crypto: { getRandomValues<T extends Uint8Array>(array: T): T };

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * Random bytes drawn a page at a time: one call into the system's generator per 4 KiB instead
 * of one per id (a connection takes one id, a publish without an id another). Every byte is
 * used once.
 */
const pool = new Uint8Array(4096);
let used = pool.length;

/** An unguessable id of `length` characters from [0-9A-Za-z]. */
export function randomId(length = 16): string {
  if (length > pool.length) throw new RangeError(`randomId: at most ${pool.length} characters`);
  if (used + length > pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  let id = "";
  // 62 does not divide 256; the slight bias is irrelevant for ids of this length.
  for (let i = used; i < used + length; i++) id += ALPHABET[(pool[i] as number) % 62];
  used += length;
  return id;
}

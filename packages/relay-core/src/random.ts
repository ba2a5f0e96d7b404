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

/**
 * An unguessable id of `length` characters from [0-9A-Za-z], made in one piece: a string grown
 * a character at a time past 12 is a chain of V8 cons strings (32 bytes a link), which a
 * session keeps for as long as it lives.
 */
export function randomId(length = 16): string {
  if (length > pool.length) throw new RangeError(`randomId: at most ${pool.length} characters`);
  if (used + length > pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  const codes = new Array<number>(length);
  // 62 does not divide 256; the slight bias is irrelevant for ids of this length.
  for (let i = 0; i < length; i++) codes[i] = ALPHABET.charCodeAt((pool[used + i] as number) % 62);
  used += length;
  return String.fromCharCode(...codes);
}

// Web Crypto exists in every runtime PubsubBud supports (Node ≥ 20, browsers, workerd).
declare const crypto: { getRandomValues<T extends Uint8Array>(array: T): T };

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** An unguessable id of `length` characters from [0-9A-Za-z]. */
export function randomId(length = 16): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let id = "";
  // 62 does not divide 256; the slight bias is irrelevant for ids of this length.
  for (const byte of bytes) id += ALPHABET[byte % 62];
  return id;
}

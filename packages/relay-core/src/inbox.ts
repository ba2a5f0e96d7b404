import { INBOX_PREFIX } from "@pubsubbud/protocol";
import { sha256 } from "./sha256.js";

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * The private inbox channel of a connection: `_inbox.` and 22 base64url characters of
 * SHA-256 over the client's secret id and its token's user. What others see (the `reply-to`
 * header of a request) names the inbox but cannot claim it: that takes the secret, which travels
 * only in its owner's `hello`, and, under auth, the same user's token.
 */
export function inboxFor(client: string, user: string | undefined): string {
  const digest = sha256(`pubsubbud inbox\n${user ?? ""}\n${client}`);
  // 22 characters of 6 bits: 132 bits of the digest, after the prefix already in NAME.
  for (let bit = 0, at = INBOX_PREFIX.length; bit < 132; bit += 6, at++) {
    const byte = bit >> 3;
    const word = ((digest[byte] as number) << 8) | (digest[byte + 1] as number);
    NAME[at] = BASE64URL.charCodeAt((word >> (10 - (bit & 7))) & 63);
  }
  // Made in one piece, as randomId explains: the session keeps this name.
  return String.fromCharCode.apply(null, NAME);
}

/** The character codes of an inbox name, reused by every call (it runs to its end at once). */
const NAME: number[] = Array.from({ length: INBOX_PREFIX.length + 22 }, (_, i) =>
  i < INBOX_PREFIX.length ? INBOX_PREFIX.charCodeAt(i) : 0,
);

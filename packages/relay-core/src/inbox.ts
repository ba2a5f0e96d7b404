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
  // Made in one piece, as randomId explains: the session keeps this name.
  const codes: number[] = [];
  for (let i = 0; i < INBOX_PREFIX.length; i++) codes.push(INBOX_PREFIX.charCodeAt(i));
  // 22 characters of 6 bits: 132 bits of the digest.
  for (let bit = 0; bit < 132; bit += 6) {
    const byte = bit >> 3;
    const word = ((digest[byte] as number) << 8) | (digest[byte + 1] as number);
    codes.push(BASE64URL.charCodeAt((word >> (10 - (bit & 7))) & 63));
  }
  return String.fromCharCode(...codes);
}

/**
 * A random id of 26 characters from `0-9a-v`, 130 bits from the runtime's crypto: unguessable, so
 * it can be the client's secret id, and valid wherever the protocol takes an id. In place of a
 * dependency: `crypto.getRandomValues` is in every runtime the client supports.
 */
export const randomId = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(26)), (byte) => (byte & 31).toString(32)).join(
    "",
  );

// Globals every runtime PubsubBud supports provides (Node ≥ 20, browsers, workerd), declared
// here because relay-core compiles without DOM or Node types on purpose.
declare function queueMicrotask(callback: () => void): void;
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class URL {
  constructor(url: string, base?: string);
  readonly href: string;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
declare function setTimeout(callback: () => void, ms?: number): unknown;

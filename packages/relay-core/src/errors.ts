/** Codes of the errors relay-core throws at its API (wire codes live in @pubsubbud/protocol). */
export const RelayErrorCode = {
  BadChannel: "bad_channel",
  BadHeaders: "bad_headers",
  BadNamespace: "bad_namespace",
  PublishFailed: "publish_failed",
  Closed: "closed",
} as const;
export type RelayErrorCode = (typeof RelayErrorCode)[keyof typeof RelayErrorCode];

/** An error of relay-core's API, e.g. a server-side publish with a bad channel. */
export class RelayError extends Error {
  override readonly name = "RelayError";
  readonly code: RelayErrorCode;
  constructor(code: RelayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for errors thrown by PubsubBud packages (they all carry a `code`). */
export function isPubsubBudError(error: unknown): error is Error & { code: string } {
  return error instanceof RelayError;
}

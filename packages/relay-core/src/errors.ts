import { PubsubBudError } from "@pubsubbud/protocol";

/** Codes of the errors relay-core throws at its API (wire codes live in @pubsubbud/protocol). */
export const RelayErrorCode = {
  BadChannel: "bad_channel",
  BadHeaders: "bad_headers",
  BadNamespace: "bad_namespace",
  /** A server-side publish's data is not a JSON value (a BigInt, a cycle, `undefined`…). */
  BadData: "bad_data",
  PublishFailed: "publish_failed",
  /** The broker may or may not have taken the publish: retry with the same id. */
  PublishUncertain: "publish_uncertain",
  /** The broker's byte budget is full: retry later with the same id. */
  StorageFull: "storage_full",
  /** The token does not grant this publish. */
  Forbidden: "forbidden",
  /** The token was missing or refused. */
  Unauthorized: "unauthorized",
} as const;
export type RelayErrorCode = (typeof RelayErrorCode)[keyof typeof RelayErrorCode];

/** An error of relay-core's API, e.g. a server-side publish with a bad channel. */
export class RelayError extends PubsubBudError<RelayErrorCode> {
  override readonly name = "RelayError";
}

/**
 * What a client hears when its publish did not go through the broker: an uncertain or full
 * broker says so (retry with the same id); any other failure is `publish_failed`.
 */
export function publishRefusal(error: unknown): { code: string; message: string } {
  return error instanceof RelayError &&
    (error.code === RelayErrorCode.PublishUncertain || error.code === RelayErrorCode.StorageFull)
    ? { code: error.code, message: error.message }
    : {
        code: RelayErrorCode.PublishFailed,
        message: "the broker did not take the message; retry with the same id",
      };
}

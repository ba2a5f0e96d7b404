/**
 * The base of every error a PubsubBud package throws: a literal `name`, a documented `code`
 * and an optional `cause`. Each package extends it with its own code union.
 */
export class PubsubBudError<Code extends string = string> extends Error {
  override readonly name: string = "PubsubBudError";
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True for errors thrown by any PubsubBud package. */
export function isPubsubBudError(error: unknown): error is PubsubBudError {
  return error instanceof PubsubBudError;
}

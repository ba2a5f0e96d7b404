import { ClientError } from "./errors.js";

/**
 * Calls `abort` with an `aborted` ClientError (the signal's reason as its cause) when `signal`
 * aborts, at once if it already has. Returns what removes the listener, for an operation that
 * ended first: a long-lived signal shared by many operations must not collect their listeners.
 */
export function onAbort(
  signal: AbortSignal | undefined,
  abort: (error: ClientError) => void,
): () => void {
  const listener = () =>
    abort(
      new ClientError("aborted", "aborted by its AbortSignal", {
        cause: signal?.reason,
      }),
    );
  if (signal?.aborted) listener();
  signal?.addEventListener("abort", listener, { once: true });
  return () => signal?.removeEventListener("abort", listener);
}

/**
 * Disposes `target` when `signal` aborts, at once if it already has: a client closes, a
 * subscription unsubscribes. Returns what removes the listener.
 * @example disposeOnAbort(controller.signal, createClient({ url }));
 */
export function disposeOnAbort(signal: AbortSignal, target: Disposable): () => void {
  return onAbort(signal, () => target[Symbol.dispose]());
}

/** Lets Node exit while only this timer (a ping, a renewal) is pending; a no-op elsewhere. */
export function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

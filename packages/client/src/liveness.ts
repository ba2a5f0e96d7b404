/**
 * Liveness pings: every interval, send a ping; when nothing at all was heard for two intervals
 * the link is dead even if no close arrived (a cut cable, a sleeping NAT), so give up on it.
 */
export class Liveness {
  #timer: ReturnType<typeof setInterval> | undefined;

  start(intervalMs: number, lastHeard: () => number, ping: () => void, dead: () => void): void {
    this.stop();
    this.#timer = setInterval(() => {
      if (Date.now() - lastHeard() > intervalMs * 2) dead();
      else ping();
    }, intervalMs);
    // In Node, pings alone must not keep the process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

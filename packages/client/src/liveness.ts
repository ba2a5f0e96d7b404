/** How long a probe waits for an answer before the link counts as dead. */
export const PROBE_TIMEOUT_MS = 5_000;

/**
 * Liveness pings. Every interval a ping goes out; a ping still unanswered at the next turn means
 * the link is dead even if no close arrived (a cut cable, a sleeping NAT), so it is given up on.
 * Judging by the last ping rather than the wall clock keeps a throttled background tab (timers
 * once a minute) from taking its own late turns for silence. A turn that comes more than two
 * intervals late (the machine slept) and {@link Liveness.probe} (the page came back, the network
 * changed) ask at once and judge after {@link PROBE_TIMEOUT_MS}.
 */
export class Liveness {
  #timer: ReturnType<typeof setInterval> | undefined;
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  #lastHeard: () => number = Date.now;
  #ping: () => void = () => {};
  #dead: () => void = () => {};
  /** When the unanswered ping went out; 0 when none is waiting. */
  #sent = 0;

  start(intervalMs: number, lastHeard: () => number, ping: () => void, dead: () => void): void {
    this.stop();
    this.#lastHeard = lastHeard;
    this.#ping = ping;
    this.#dead = dead;
    let turn = Date.now();
    this.#timer = setInterval(() => {
      const late = Date.now() - turn > intervalMs * 2;
      turn = Date.now();
      if (late) this.probe();
      else if (this.#sent && lastHeard() < this.#sent) dead();
      else this.#send();
    }, intervalMs);
    // In Node, pings alone must not keep the process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Pings now and gives up on the link unless something arrives within the probe timeout. */
  probe(): void {
    if (this.#timer === undefined) return;
    const sent = this.#send();
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => {
      if (this.#lastHeard() < sent) this.#dead();
    }, PROBE_TIMEOUT_MS);
    (this.#probeTimer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#probeTimer);
    this.#timer = undefined;
    this.#sent = 0;
  }

  #send(): number {
    this.#sent = Date.now();
    this.#ping();
    return this.#sent;
  }
}

import { unref } from "./timers.js";

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
  readonly #heard: () => number;
  readonly #ping: () => void;
  readonly #dead: () => void;
  /** `heard()` when the unanswered ping went out; undefined when none is waiting. */
  #sent: number | undefined;

  /**
   * @param heard How many frames have arrived so far: counting, not timing, tells a frame that
   * came after the ping from one in the same millisecond before it.
   */
  constructor(heard: () => number, ping: () => void, dead: () => void) {
    this.#heard = heard;
    this.#ping = ping;
    this.#dead = dead;
  }

  /** Pings every `intervalMs` from now on. */
  start(intervalMs: number): void {
    this.stop();
    let turn = Date.now();
    this.#timer = unref(
      setInterval(() => {
        const late = Date.now() - turn > intervalMs * 2;
        turn = Date.now();
        if (late) this.probe();
        else if (this.#sent === this.#heard()) this.#dead();
        else this.#send();
      }, intervalMs),
    );
  }

  /** Pings now and gives up on the link unless something arrives within the probe timeout. */
  probe(): void {
    if (this.#timer === undefined) return;
    const sent = this.#send();
    clearTimeout(this.#probeTimer);
    this.#probeTimer = unref(
      setTimeout(() => {
        if (this.#heard() === sent) this.#dead();
      }, PROBE_TIMEOUT_MS),
    );
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#probeTimer);
    this.#timer = undefined;
    this.#sent = undefined;
  }

  #send(): number {
    const sent = this.#heard();
    this.#sent = sent;
    this.#ping();
    return sent;
  }
}

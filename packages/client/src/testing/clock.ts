/** The runtime's own timers, kept before any fake clock replaces them. */
const real = {
  setTimeout: globalThis.setTimeout.bind(globalThis),
  dateNow: Date.now.bind(Date),
};

/** One macrotask turn on the real clock: promise jobs and I/O callbacks run first. */
export const turn = (): Promise<void> => new Promise((resolve) => real.setTimeout(resolve, 0));

/** Waits on the real clock whether or not a fake one is installed. */
export const realDelay = (ms: number): Promise<void> =>
  new Promise((resolve) => real.setTimeout(resolve, ms));

interface Timer {
  id: number;
  at: number;
  callback: () => void;
  /** Set for an interval. */
  every?: number;
}

type Handle = number & { unref?: () => void; ref?: () => void };

/**
 * A fake clock for the client, the relay and your code alike: `install()` replaces the global
 * timers (`setTimeout`, `setInterval` and their `clear…`) and `Date.now`, so time moves only
 * when the test says. `tick(ms)` moves it on as it would pass, firing every timer that falls due
 * in order; `jump(ms)` moves it at once and fires each due timer once, as after a machine that
 * slept or a background tab whose timers were throttled. Promise jobs and the test relay's
 * frames run between timers.
 * @example
 * const clock = new FakeClock().install();
 * try { ...; await clock.tick(25_000); } finally { clock.uninstall(); }
 */
export class FakeClock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, Timer>();
  #restore: (() => void) | undefined;

  /** @param start The clock's first reading, in ms since the epoch. @default the real time */
  constructor(start = real.dateNow()) {
    this.#now = start;
  }

  /** The clock's time, in ms since the epoch. */
  now(): number {
    return this.#now;
  }

  /** Replaces the global timers and `Date.now` with this clock's; returns the clock. */
  install(): this {
    if (this.#restore) return this;
    const g = globalThis as unknown as Record<string, unknown>;
    const saved = {
      setTimeout: g.setTimeout,
      clearTimeout: g.clearTimeout,
      setInterval: g.setInterval,
      clearInterval: g.clearInterval,
    };
    const savedNow = Date.now;
    g.setTimeout = (callback: () => void, ms = 0) => this.#add(callback, ms);
    g.setInterval = (callback: () => void, ms = 0) => this.#add(callback, ms, Math.max(1, ms));
    g.clearTimeout = g.clearInterval = (handle?: number) => {
      if (handle !== undefined) this.#timers.delete(Number(handle));
    };
    Date.now = () => this.#now;
    this.#restore = () => {
      Object.assign(g, saved);
      Date.now = savedNow;
    };
    return this;
  }

  /** Puts the real timers and `Date.now` back; pending fake timers are forgotten. */
  uninstall(): void {
    this.#restore?.();
    this.#restore = undefined;
    this.#timers.clear();
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, firing every timer that falls due, in order, as real time would. */
  async tick(ms: number): Promise<void> {
    const end = this.#now + ms;
    await turn();
    for (;;) {
      const due = this.#due(end);
      if (!due) break;
      this.#now = Math.max(this.#now, due.at);
      this.#fire(due);
      await turn();
    }
    this.#now = end;
    await turn();
  }

  /**
   * Moves time on by `ms` at once, then fires each timer that fell due once: an interval that
   * missed ten turns runs one, late, like after sleep or in a throttled background tab.
   */
  async jump(ms: number): Promise<void> {
    this.#now += ms;
    const due = [...this.#timers.values()]
      .filter((timer) => timer.at <= this.#now)
      .sort((a, b) => a.at - b.at || a.id - b.id);
    for (const timer of due) {
      if (!this.#timers.has(timer.id)) continue;
      if (timer.every !== undefined) timer.at = this.#now;
      this.#fire(timer);
      await turn();
    }
    await turn();
  }

  #add(callback: () => void, ms: number, every?: number): Handle {
    const id = this.#next++;
    const at = this.#now + Math.max(0, Number(ms) || 0);
    this.#timers.set(id, every === undefined ? { id, at, callback } : { id, at, callback, every });
    // Node code calls unref() on timers; a number cannot carry it, so an object stands in.
    return Object.assign(Object(id), { unref() {}, ref() {} }) as unknown as Handle;
  }

  #due(end: number): Timer | undefined {
    let first: Timer | undefined;
    for (const timer of this.#timers.values())
      if (
        timer.at <= end &&
        (!first || timer.at < first.at || (timer.at === first.at && timer.id < first.id))
      )
        first = timer;
    return first;
  }

  #fire(timer: Timer): void {
    if (timer.every === undefined) this.#timers.delete(timer.id);
    else timer.at += timer.every;
    timer.callback();
  }
}

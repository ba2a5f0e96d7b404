/**
 * Publish deadlines of one length, kept by one timer for all of them: deadlines set later pass
 * later, so only the earliest one pending is ever scheduled. A publish that is answered in time
 * costs a set entry, not a timer of its own.
 */

/** One publish's deadline: what passing it does changes as the publish moves on. */
export class Deadline {
  /** When it passes (`Date.now()` time). */
  readonly at: number;
  #passed = false;
  #onPass: (() => void) | undefined;
  readonly #done: (deadline: Deadline) => void;

  constructor(at: number, done: (deadline: Deadline) => void = () => {}) {
    this.at = at;
    this.#done = done;
  }

  /** True once the deadline has passed. */
  get passed(): boolean {
    return this.#passed;
  }

  /** Runs `then` when the deadline passes (at once if it has), in place of the earlier callback. */
  onPass(then: () => void): void {
    this.#onPass = then;
    if (this.#passed) then();
  }

  /** `work`, or what `passed` returns (or throws) when the deadline passes first. */
  race<T>(work: Promise<T>, passed: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      work.then(resolve, reject);
      this.onPass(() => {
        try {
          resolve(passed());
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  /** Passes the deadline now (the timer's call; a test's stand-in for time going by). */
  pass(): void {
    if (this.#passed) return;
    this.#passed = true;
    this.#onPass?.();
  }

  /** The publish is answered: its deadline no longer matters. */
  done(): void {
    this.#onPass = undefined;
    this.#done(this);
  }
}

/** Hands out deadlines `ms` from now and passes them; see the file header. */
export class Deadlines {
  readonly #ms: number;
  /** Pending deadlines in the order they were set, which is the order they pass. */
  readonly #pending = new Set<Deadline>();
  readonly #forget = (deadline: Deadline) => void this.#pending.delete(deadline);
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** A deadline `ms` from now; call its {@link Deadline.done} once the publish is answered. */
  start(): Deadline {
    const deadline = new Deadline(Date.now() + this.#ms, this.#forget);
    this.#pending.add(deadline);
    this.#arm(deadline.at);
    return deadline;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    const now = Date.now();
    for (const deadline of this.#pending) {
      if (deadline.at > now) return this.#arm(deadline.at);
      this.#pending.delete(deadline);
      deadline.pass();
    }
  }
}

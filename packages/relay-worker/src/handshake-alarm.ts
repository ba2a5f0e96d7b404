/**
 * When the object must wake to close the connections that sent no valid `hello` in time
 * (`limits.handshakeTimeoutMs`, close 4003): one Durable Object alarm, set only while such
 * connections exist. The closing itself is relay-core's sweep, which the object's `alarm()`
 * runs; then {@link HandshakeAlarm.fired} sets the alarm for the next deadline, or leaves it
 * unset, so an object whose connections all said hello (or left) is free to hibernate (the
 * alarm set for them fires once more at most, and sets none).
 */
export class HandshakeAlarm {
  readonly #timeoutMs: number;
  readonly #setAlarm: (at: number) => void;
  /** Each socket still in its handshake → the time past which the sweep closes it. */
  readonly #deadlines = new Map<WebSocket, number>();
  /** When the alarm is set for, as far as this instance knows (a wake forgets it). */
  #armedFor: number | undefined;

  /** `setAlarm`: the object's `ctx.storage.setAlarm`, which replaces any alarm set before. */
  constructor(timeoutMs: number, setAlarm: (at: number) => void) {
    this.#timeoutMs = timeoutMs;
    this.#setAlarm = setAlarm;
  }

  /** A socket accepted at `at` that has not completed its `hello`. */
  accepted(ws: WebSocket, at: number): void {
    const deadline = at + this.#timeoutMs;
    this.#deadlines.set(ws, deadline);
    // Deadlines come in accept order: one alarm covers a connect storm, set by its first socket.
    if (this.#armedFor === undefined || this.#armedFor > deadline + 1) this.#arm(deadline + 1);
  }

  /** The socket's `hello` completed, or it closed: no deadline any more. */
  done(ws: WebSocket): void {
    this.#deadlines.delete(ws);
  }

  /**
   * After the sweep at `now` (which closed every socket past its deadline): forgets those and
   * sets the alarm for the next deadline, if a socket is still waiting.
   */
  fired(now: number): void {
    this.#armedFor = undefined;
    let next = Number.POSITIVE_INFINITY;
    for (const [ws, deadline] of this.#deadlines)
      if (now > deadline) this.#deadlines.delete(ws);
      else next = Math.min(next, deadline);
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next + 1);
  }

  #arm(at: number): void {
    this.#armedFor = at;
    this.#setAlarm(at);
  }
}

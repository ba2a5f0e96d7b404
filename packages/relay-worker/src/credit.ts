/**
 * A socket's outbound backlog as its client reports it. workerd's sockets do not say how much
 * they hold unwritten, so the object counts the characters it sent and the client credits what
 * it received (`{"type":"ping","rx":N}`, docs/protocol.md "Receive credit"): sent minus credited
 * is the buffered amount relay-core's slow-consumer cut (4001) reads.
 */
export class CreditMeter {
  /** Characters sent since the object (re)started, in memory only. */
  #sent = 0;
  /** Characters of `#sent` the client has credited. */
  #credited = 0;
  /**
   * The client's `rx` that corresponds to `#sent` = 0. Known (0) for a socket this object
   * accepted; unknown after a wake, since the count restarted while the client's did not.
   */
  #base: number | undefined;
  /** Called once the backlog is back under `resumeBelow` (a replay waits for it). */
  #waiting: Array<() => void> = [];
  readonly #resumeBelow: number;

  /**
   * @param fresh true for a socket accepted by this object, false for one restored after a wake.
   * @param resumeBelow backlog under which a paced write (`sendThen`) may go on.
   */
  constructor(fresh: boolean, resumeBelow: number) {
    this.#base = fresh ? 0 : undefined;
    this.#resumeBelow = resumeBelow;
  }

  /** Characters sent and not yet credited. */
  get backlog(): number {
    return this.#sent - this.#credited;
  }

  sent(characters: number): void {
    this.#sent += characters;
  }

  /** Runs `then` once the backlog is under the resume mark: at once when it already is. */
  whenDrained(then: () => void): void {
    if (this.backlog < this.#resumeBelow) then();
    else this.#waiting.push(then);
  }

  /** A ping's `rx`: the client's total characters received on this connection. */
  credit(received: number): void {
    // After a wake the first credit sets the base, taking what was sent since as received: the
    // object hibernated only while idle, so the client had everything sent before it.
    this.#base ??= Math.max(0, received - this.#sent);
    // A credit never exceeds what was sent (a client cannot bank credit for later).
    this.#credited = Math.max(this.#credited, Math.min(this.#sent, received - this.#base));
    if (this.backlog >= this.#resumeBelow || this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const then of waiting) then();
  }
}

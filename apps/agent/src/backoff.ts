/**
 * Reconnect delays: exponential with full jitter (a uniform draw in [0, min(cap, base·2^attempt)]), so a fleet of
 * agents that lost the same data plane does not come back in lock-step. `random` is injectable for the unit test.
 */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly capMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  get attempt(): number {
    return this.#attempt;
  }

  /** The ceiling of the next delay (what the status line shows as "retry within"). */
  ceilingMs(): number {
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.#attempt, 30));
  }

  /** The next delay; each call raises the ceiling until the cap. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceilingMs());
    this.#attempt++;
    return delay;
  }

  /** After a connection that worked: start again from the base. */
  reset(): void {
    this.#attempt = 0;
  }
}

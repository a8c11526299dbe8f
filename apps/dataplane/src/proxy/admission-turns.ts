import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A request handler; `arrivedAt` (`performance.now()`) is set when the request waited for a later turn, and undefined
 * when it starts as it arrives.
 */
export type AdmittedHandler = (req: IncomingMessage, res: ServerResponse, arrivedAt?: number) => void;

interface Waiting {
  handler: AdmittedHandler;
  req: IncomingMessage;
  res: ServerResponse;
  arrivedAt: number;
}

/**
 * Starts at most `perTurn` requests per event-loop turn, in arrival order; the others wait, first come first
 * started, for the next turns (0: no limit).
 *
 * Why: node:http2 sends a session's frames once per turn (a native immediate, after the poll phase), so requests going
 * through an agent tunnel leave only when the turn that started them ends. A burst — 50 clients answered in one turn
 * come back in one turn — used to be admitted whole before any of it reached the agent: the agent waited while the
 * data plane admitted 50 requests, then the data plane waited while the agent forwarded them. In slices, the agent
 * forwards the first requests while the data plane admits the next.
 * Measured with `bench/agent-tunnel-ab.ts` (50 connections, 20 paired rounds, three runs against three controls with
 * slicing off): about +10% req/s through the tunnel and +7% on the direct path, within a per-run noise of 5–10%
 * (ARCHITECTURE.md, "Admission in slices"). Below `perTurn` requests per turn (any moderate load) nothing waits.
 *
 * A waiting request costs nothing but its place here: node:http had already parsed it (its objects exist either way)
 * and its body stays unread in the socket, so this adds no buffer of its own. Waiting requests keep their arrival
 * time, so durations in the request log include the wait.
 */
export class AdmissionTurns {
  readonly #perTurn: number;
  /** Requests started since the count last started again (#turnEnd). */
  #started = 0;
  #turnEndScheduled = false;
  /**
   * Waiting requests from `#head` on. An array rather than a Set or a linked structure of fresh nodes: it is reset to
   * empty (same backing store) whenever the queue drains, and nothing in it outlives its request (ARCHITECTURE.md,
   * "Garbage").
   */
  readonly #waiting: (Waiting | undefined)[] = [];
  #head = 0;
  #waitedTotal = 0;

  constructor(perTurn: number) {
    this.#perTurn = perTurn <= 0 ? Number.POSITIVE_INFINITY : perTurn;
  }

  /** Requests waiting for a later turn. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** Requests that waited for a later turn since the start (for /metrics). */
  get waitedTotal(): number {
    return this.#waitedTotal;
  }

  admit(handler: AdmittedHandler, req: IncomingMessage, res: ServerResponse): void {
    if (this.#head === this.#waiting.length && this.#started < this.#perTurn) {
      this.#started++;
      handler(req, res);
      return;
    }
    this.#waiting.push({ handler, req, res, arrivedAt: performance.now() });
    this.#waitedTotal++;
    if (!this.#turnEndScheduled) {
      this.#turnEndScheduled = true;
      setImmediate(this.#turnEnd);
    }
  }

  /**
   * The check phase of a turn in which requests had to wait: the count starts again, and the first slice of the
   * waiting requests starts now. What those requests write through node:http2 leaves at the next check phase, while the
   * agent already works on the previous slice.
   *
   * The count is reset only here, not at every turn: with no immediate per turn, a quiet data plane pays nothing for
   * this, and the price is that after `perTurn` requests spread over quiet turns the next one waits until the check
   * phase of its own turn (microseconds) and resets the count.
   */
  readonly #turnEnd = (): void => {
    this.#turnEndScheduled = false;
    this.#started = 0;
    const waiting = this.#waiting;
    while (this.#head < waiting.length && this.#started < this.#perTurn) {
      const next = waiting[this.#head]!;
      waiting[this.#head++] = undefined;
      this.#started++;
      next.handler(next.req, next.res, next.arrivedAt);
    }
    if (this.#head < waiting.length) {
      this.#turnEndScheduled = true;
      setImmediate(this.#turnEnd);
    } else {
      waiting.length = 0;
      this.#head = 0;
    }
  };
}

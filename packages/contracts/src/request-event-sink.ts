import type { RequestEventInput } from './request-events.js';

/**
 * One event per proxied request (DESIGN.md §7), as a data plane emits it: the request-log contract's input shape
 * (`requestEventSchema`, which the worker validates) with the list fields always filled. Header values and bodies are
 * included only when the endpoint that received the request opted in (`request_log_capture`), and never
 * Authorization, Proxy-Authorization, Cookie or Set-Cookie. `trace` (every rule evaluated) is optional for producers
 * other than the data plane's request path.
 */
export type RequestEvent = RequestEventInput &
  Required<Pick<RequestEventInput, 'query' | 'client_ip_categories' | 'rules_matched' | 'logs' | 'runtime_errors'>>;

/**
 * Where a data plane sends request events: a BullMQ queue in the distributed shape, the embedded shape's in-process
 * queue into the control plane's batch processor. `emit` must return at once and never throw: logging must never slow
 * or fail traffic. It returns false when the event was dropped (a full buffer, a closed sink), which the data plane
 * counts.
 */
export interface RequestEventSink {
  emit(event: RequestEvent): boolean;
  /** Delivers what is buffered (as far as it can), then refuses further events. */
  close(): Promise<void>;
  /**
   * A sink that counts its own drops returns the cumulative number here (refusals included); /metrics then reports
   * it instead of counting refused emits, so events it accepted but lost (e.g. undelivered at shutdown) show too.
   */
  droppedEvents?(): number;
  /** A sink that hands batches to a queue returns how many hand-overs failed so far (each is retried). */
  failedSends?(): number;
  /** A sink that keeps undelivered events on disk returns how many it wrote there so far (delivered later). */
  spilledEvents?(): number;
  /** …and how many it delivered from disk so far (this run's and earlier runs' files). */
  replayedEvents?(): number;
  /** A sink that buffers events before handing them on returns how many wait now. */
  bufferedEvents?(): number;
  /** A sink that bounds its queue returns how many sends it held back because the queue was full so far. */
  deferredSends?(): number;
  /** …and the queue's backlog in batches at its last reading (undefined before one). */
  queuedBatches?(): number | undefined;
}

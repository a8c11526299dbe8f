/**
 * One event per proxied request and the sink it goes to: shapes of @gatehouse/contracts, since the control plane's
 * in-process queue (embedded shape) implements the sink too.
 */
import type { DataplaneRequestEvents, RequestEventSink } from '@gatehouse/contracts';

export type { RequestEvent, RequestEventSink } from '@gatehouse/contracts';

/**
 * A queue sink's counters as heartbeats report them (contracts DataplaneRequestEvents); undefined for a sink that
 * hands events to no queue (the log, the embedded shape's in-process queue), which has nothing to report.
 */
export function requestEventsReport(sink: RequestEventSink): DataplaneRequestEvents | undefined {
  if (sink.bufferedEvents === undefined || sink.failedSends === undefined) return undefined;
  return {
    buffered: sink.bufferedEvents(),
    dropped: sink.droppedEvents?.() ?? 0,
    spilled: sink.spilledEvents?.() ?? 0,
    send_failures: sink.failedSends(),
    deferred_sends: sink.deferredSends?.() ?? 0,
    queued_batches: sink.queuedBatches?.() ?? null,
  };
}

const redacted = '[REDACTED]';

/**
 * Replaces secret header values (Authorization, Cookie, Proxy-Authorization, Set-Cookie) wherever a `log` action
 * copied them into its metadata, so a policy author cannot leak bearer tokens into the request log by accident.
 */
export function redactSecrets(logs: Record<string, unknown>[], secrets: readonly string[]): Record<string, unknown>[] {
  if (logs.length === 0 || secrets.length === 0) return logs;
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') {
      let text = value;
      for (const secret of secrets)
        if (secret.length >= 4 && text.includes(secret)) text = text.split(secret).join(redacted);
      return text;
    }
    if (Array.isArray(value)) return value.map(scrub);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, scrub(inner)]));
    }
    return value;
  };
  return logs.map((entry) => scrub(entry) as Record<string, unknown>);
}

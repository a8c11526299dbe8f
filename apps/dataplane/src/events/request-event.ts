import type { RequestEventInput } from '@gatehouse/contracts';

/**
 * One event per proxied request (DESIGN.md §7), in the shape of the request-log contract (`requestEventSchema` in
 * `@gatehouse/contracts`, which the worker validates). Header values and bodies are included only when the endpoint
 * that received the request opted in (`request_log_capture`), and never Authorization, Proxy-Authorization, Cookie or
 * Set-Cookie. Secrets that a `log` action copied are redacted before the event leaves the request path. The data plane
 * always fills the list fields; `trace` (every rule evaluated) is filled by the request path too, but optional for
 * other producers.
 */
export type RequestEvent = RequestEventInput &
  Required<Pick<RequestEventInput, 'query' | 'client_ip_categories' | 'rules_matched' | 'logs' | 'runtime_errors'>>;

/**
 * Where request events go. `emit` must return at once and never throw: logging must never slow or fail traffic.
 * It returns false when the event was dropped (a full buffer, a closed sink), which the data plane counts.
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

import { redactedHeaderSet, redactLogMetadata, type ClientGeo, type RequestShadow } from '@gatehouse/contracts';
import {
  callerOf,
  clientGeoOf,
  settleExchange,
  type Decision,
  type McpFacts,
  type Phase,
  type RequestFacts,
  type ResponseFacts,
} from '@gatehouse/traffic-policy';
import type { LoadedEndpoint } from '../config/runtime-config.js';
import { redactSecrets, type RequestEvent } from '../events/request-event.js';
import type { DataplaneMetrics } from '../metrics.js';
import type { RuleCounterTable } from '../rule-counters.js';
import type { RequestEventSink } from '../events/request-event.js';
import type { Hop } from './policy-chain.js';
import type { RequestLogCapturer } from './request-log-capture.js';
import { randomTraceId, randomUuid } from './random-ids.js';
import { recordedMcp, type recordReplayFacts } from './replay-facts.js';

/** The replay facts recorded at admission, and the fields toEvent completes them with. */
type RecordedReplay = ReturnType<typeof recordReplayFacts> &
  Partial<Pick<NonNullable<RequestEvent['replay']>, 'client_ip_categories' | 'client_geo' | 'mcp'>>;

/**
 * `new Date(ms).toISOString()` of the last millisecond asked for: requests finishing in the same millisecond (several
 * at a few thousand per second) share the text, and formatting a date was a visible share of building an event.
 */
let lastTimestampMs = Number.NaN;
let lastTimestampText = '';
function isoTimestamp(ms: number): string {
  if (ms !== lastTimestampMs) {
    lastTimestampText = new Date(ms).toISOString();
    lastTimestampMs = ms;
  }
  return lastTimestampText;
}

/** What the request path learns about one request as it goes; turned into a RequestEvent when the response ends. */
export class RequestRecord {
  readonly id = randomUuid();
  /** When the request arrived: epoch milliseconds, and `performance.now()` for durations. */
  readonly timestamp: number;
  readonly startedAt: number;
  endpoint: LoadedEndpoint | undefined;
  hops: readonly Hop[] = [];
  decision: Decision | undefined;
  errorCode: string | undefined;
  forwardedTo: string | undefined;
  upstreamStartedAt: number | undefined;
  upstreamDurationMs: number | undefined;
  bytesIn = 0;
  bytesOut = 0;
  mcp: McpFacts | undefined;
  /** What the endpoint's shadow policy would have done (issue 17 item 3); undefined without a shadow. */
  shadow: RequestShadow | undefined;
  /** The shadow's response phase, set when it applies (issue 17 item 3; `admitRequest`); run once the response ends. */
  shadowResponse:
    ((upstream: ResponseFacts, liveStatus: number) => Promise<NonNullable<RequestShadow['response']>>) | undefined;
  /** A copy of the upstream's answer as the live policy received it, kept only for `shadowResponse`. */
  upstreamResponse: ResponseFacts | undefined;
  /** Values of Authorization/Cookie headers, to redact from `log` metadata. */
  secrets: readonly string[] = [];
  /** Set only when the endpoint opted into header or body capture. */
  capture: RequestLogCapturer | undefined;
  /** The request as a replay needs it (set once the request was routed to an endpoint). */
  replay: RecordedReplay | undefined;

  readonly method: string;
  readonly host: string;
  /** The path and query as received: a policy's url-rewrite changes the request facts, not the logged request. */
  readonly path: string;
  readonly query: string;
  readonly userAgent: string;
  readonly traceId: string;

  constructor(
    request: RequestFacts,
    readonly clientIp: string,
    /** Set when the request waited before it started (admission-turns.ts): its log row counts the wait. */
    arrivedAt?: number,
  ) {
    if (arrivedAt === undefined) {
      this.timestamp = Date.now();
      this.startedAt = performance.now();
    } else {
      this.timestamp = Math.round(Date.now() - (performance.now() - arrivedAt));
      this.startedAt = arrivedAt;
    }
    this.method = request.method;
    this.host = request.host;
    this.path = request.path;
    this.query = request.query;
    this.userAgent = request.headers.get('user-agent')?.[0] ?? '';
    this.traceId = traceIdOf(request.headers.get('traceparent')?.[0]);
  }

  markUpstreamStart(): void {
    this.upstreamStartedAt = performance.now();
  }

  markUpstreamHeaders(): void {
    if (this.upstreamStartedAt !== undefined) this.upstreamDurationMs = performance.now() - this.upstreamStartedAt;
  }

  toEvent(status: number): RequestEvent {
    const endpoint = this.endpoint;
    const rulesMatched: RequestEvent['rules_matched'] = [];
    const trace: NonNullable<RequestEvent['trace']> = [];
    const logs: Record<string, unknown>[] = [];
    const runtimeErrors: RequestEvent['runtime_errors'] = [];
    let categories: readonly string[] = [];
    for (const { endpoint: hopEndpoint, context } of this.hops) {
      if (context === undefined) continue;
      const endpointId = hopEndpoint.facts.id;
      for (const rule of context.trace) {
        const { rule_index, rule_name } = rule;
        const phase = loggedPhase(rule.phase);
        if (phase === undefined) continue;
        if (rule.matched) rulesMatched.push({ phase, rule_index, rule_name, endpoint_id: endpointId });
        // Two literals rather than a conditional spread: no throwaway object per rule, same keys in the same order.
        trace.push(
          rule.error === undefined
            ? { endpoint_id: endpointId, phase, rule_index, rule_name, matched: rule.matched, actions: rule.actions }
            : {
                endpoint_id: endpointId,
                phase,
                rule_index,
                rule_name,
                matched: rule.matched,
                error: rule.error,
                actions: rule.actions,
              },
        );
      }
      if (context.logs.length > 0) logs.push(...context.logs);
      if (context.runtimeErrors.length > 0) runtimeErrors.push(...context.runtimeErrors);
      if (categories.length === 0) categories = context.clientIp.categories;
    }
    const event: RequestEvent = {
      id: this.id,
      timestamp: isoTimestamp(this.timestamp),
      endpoint_id: endpoint?.facts.id ?? null,
      endpoint_url: endpoint?.facts.url ?? null,
      policy_version: endpoint?.synced.policy?.version ?? null,
      method: this.method,
      host: this.host,
      path: this.path,
      query: this.query,
      status,
      duration_ms: round(performance.now() - this.startedAt),
      upstream_duration_ms: this.upstreamDurationMs === undefined ? null : round(this.upstreamDurationMs),
      bytes_in: this.bytesIn,
      bytes_out: this.bytesOut,
      client_ip: this.clientIp === '' ? 'unknown' : this.clientIp,
      client_ip_categories: categories.length === 0 ? [] : [...categories],
      user_agent: this.userAgent,
      forwarded_to: this.forwardedTo ?? null,
      decision: decisionOf(this.decision),
      rules_matched: atMost(rulesMatched, 1_024),
      error_code: this.errorCode ?? null,
      // Most requests log nothing: then there is nothing to cut or redact.
      logs:
        logs.length === 0 ? logs : redactLogMetadata(redactSecrets(atMost(logs, 256), this.secrets), secretHeaderNames),
      mcp:
        this.mcp === undefined
          ? null
          : {
              method: this.mcp.method.slice(0, 1_024),
              tool: this.mcp.tool.slice(0, 1_024),
              protocol_version: this.mcp.protocolVersion.slice(0, 1_024),
              kind: this.mcp.kind,
              session_id: this.mcp.sessionId.slice(0, 1_024),
            },
      caller: callerOf(this.hops.map((hop) => hop.context)),
      ai_gateway: aiGatewayOf(this.hops),
      trace_id: this.traceId,
      runtime_errors: atMost(runtimeErrors, 64),
      trace: atMost(trace, 1_024),
      shadow: this.shadow ?? null,
    };
    // Added after the literal rather than spread into it (same keys, same order): a spread in an object literal sends
    // every property after it down V8's slow path, which made toEvent several microseconds per request.
    if (this.capture !== undefined) Object.assign(event, capturedFields(this.capture));
    if (this.replay !== undefined) event.replay = this.#completedReplay(categories);
    return event;
  }

  /**
   * The replay facts recorded at admission, completed with what only the end of the request knows. Completed in place:
   * the record's copy exists for this event alone (and completing it twice gives the same values).
   */
  #completedReplay(categories: readonly string[]): NonNullable<RequestEvent['replay']> {
    const replay = this.replay as NonNullable<RecordedReplay>;
    replay.client_ip_categories = categories.length === 0 ? [] : [...categories];
    const geo = this.#recordedGeo();
    if (geo !== undefined) replay.client_geo = geo;
    replay.mcp = recordedMcp(this.mcp);
    return replay as NonNullable<RequestEvent['replay']>;
  }

  /**
   * The client's geo/AS record for replays, so a draft reading `conn.geo.*` is judged on the country the request came
   * from. Read through the first hop's context: memoised there when the policy already looked it up, otherwise looked
   * up now, after the response (a lookup is a tree walk behind an LRU). No policy ran: nothing to read it through.
   */
  #recordedGeo(): ClientGeo | undefined {
    const context = this.hops[0]?.context;
    return context === undefined ? undefined : clientGeoOf(context.clientIp.record);
  }

  /**
   * Adds this request to the per-rule counters of each policy it ran. A deny is a decision that answered with a status
   * outside 2xx: a request-phase answer given before any upstream was contacted, or a response-phase replacement (an
   * upstream's own 404 is not the rule's doing). Index loops and no allocation: this runs for every request.
   */
  #countRules(status: number, table: RuleCounterTable): void {
    const hops = this.hops;
    if (hops.length === 0) return;
    const decision = this.decision;
    const policyAnswered =
      decision !== undefined && (decision.phase === 'on_http_response' || this.upstreamStartedAt === undefined);
    const nowMs = Date.now();
    for (let index = 0; index < hops.length; index++) {
      const { endpoint, context } = hops[index]!;
      const version = endpoint.synced.policy?.version;
      if (context === undefined || endpoint.policy === undefined || version === undefined) continue;
      const deciding = policyAnswered && context.decision === decision ? decision : undefined;
      table.record(endpoint.facts.id, version, endpoint.policy, context.trace, deciding, status, nowMs);
    }
  }

  /** Emits the event and the request metrics; never throws (a logging failure must not affect traffic). */
  finish(status: number, sink: RequestEventSink, metrics: DataplaneMetrics): void {
    const endpointLabel = this.endpoint?.facts.id ?? 'none';
    const decisionLabel = this.decision?.action ?? (this.upstreamStartedAt === undefined ? 'none' : 'upstream');
    metrics.countRequest(endpointLabel, status, decisionLabel);
    metrics.duration.observe((performance.now() - this.startedAt) / 1000);
    this.#countRules(status, metrics.ruleCounters);
    // Work the policies left for the end of the exchange (rate-limit costs such as the tokens just read): their
    // expressions run now, so a failure is in this event; the charges go to the store in the background.
    for (let index = 0; index < this.hops.length; index++) {
      const context = this.hops[index]!.context;
      if (context !== undefined && context.atExchangeEnd.length > 0) void settleExchange(context);
    }
    if (this.shadowResponse === undefined || this.upstreamResponse === undefined || this.shadow === undefined) {
      this.#emit(status, sink, metrics);
      return;
    }
    // After the response: the shadow's response phase costs the live request no latency, and its verdict joins the
    // event (emitted once it is known).
    const shadow = this.shadow;
    this.shadowResponse(this.upstreamResponse, status).then(
      (response) => {
        this.shadow = { ...shadow, response, differs: shadow.differs || response.differs };
        this.#emit(status, sink, metrics);
      },
      () => {
        // The shadow enforces nothing; a failure of its response phase leaves the request phase's verdict alone.
        this.#emit(status, sink, metrics);
      },
    );
  }

  #emit(status: number, sink: RequestEventSink, metrics: DataplaneMetrics): void {
    if (this.shadow !== undefined && this.endpoint !== undefined)
      metrics.countShadow(this.endpoint.facts.id, this.shadow.differs);
    try {
      if (!sink.emit(this.toEvent(status))) metrics.countRefusedEvent();
    } catch {
      metrics.eventSinkDrops.inc();
    }
  }
}

/** The last ai-gateway run on the request's path, without its internal price table. */
function aiGatewayOf(hops: readonly Hop[]): RequestEvent['ai_gateway'] {
  for (let index = hops.length - 1; index >= 0; index--) {
    const record = hops[index]!.context?.aiGateway;
    if (record === undefined) continue;
    const { price: _price, ...logged } = record;
    return { ...logged, attempts: logged.attempts.slice(0, 64).map((attempt) => ({ ...attempt })) };
  }
  return null;
}

function capturedFields(
  capture: RequestLogCapturer,
): Pick<RequestEvent, 'request_headers' | 'response_headers' | 'request_body' | 'response_body'> {
  return {
    ...(capture.options.headers
      ? { request_headers: capture.requestHeaders ?? null, response_headers: capture.responseHeaders ?? null }
      : {}),
    ...(capture.options.bodies
      ? { request_body: capture.requestBody?.toText() ?? null, response_body: capture.responseBody?.toText() ?? null }
      : {}),
  };
}

/** The first `limit` entries: the array itself when it is that short (it was built for this event alone). */
function atMost<T>(entries: T[], limit: number): T[] {
  return entries.length > limit ? entries.slice(0, limit) : entries;
}

function round(milliseconds: number): number {
  return Math.round(milliseconds * 1000) / 1000;
}

/** Log metadata keys named like a secret header are redacted whatever their value (contract rule). */
const secretHeaderNames = redactedHeaderSet();

const traceparentPattern = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The W3C trace id of an incoming `traceparent`, or a new random one. */
export function traceIdOf(traceparent: string | undefined): string {
  const match = traceparent === undefined ? null : traceparentPattern.exec(traceparent.trim());
  if (match !== null && match[1] !== '00000000000000000000000000000000') return match[1]!;
  return randomTraceId();
}

type LoggedPhase = Exclude<Phase, 'on_event_stream_message'>;

/**
 * The phases a request-log row names. on_event_stream_message runs per event in contexts of its own (evaluateStreamEvent)
 * and never reaches the hops' traces or the decision; a failed run is the row's error_code.
 */
function loggedPhase(phase: Phase): LoggedPhase | undefined {
  return phase === 'on_event_stream_message' ? undefined : phase;
}

function decisionOf(decision: Decision | undefined): RequestEvent['decision'] {
  const phase = decision === undefined ? undefined : loggedPhase(decision.phase);
  return decision === undefined || phase === undefined ? null : { ...decision, phase };
}

import type { RequestEventSink } from '@gatehouse/contracts';
import { RuleCounterTable } from './rule-counters.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A prom-client `collect` that makes a counter follow a cumulative number kept elsewhere (read at each scrape), so the
 * hot path never touches the counter and a number that only grows is never counted twice.
 */
function following(read: () => number | undefined): (this: Counter) => void {
  let seen = 0;
  return function collect(this: Counter) {
    const total = read();
    if (total === undefined) return;
    if (total > seen) this.inc(total - seen);
    seen = Math.max(total, seen);
  };
}

/** A prom-client `collect` that sets a gauge to a number kept elsewhere, read at each scrape. */
function reading(read: () => number): (this: Gauge) => void {
  return function collect(this: Gauge) {
    this.set(read());
  };
}

/**
 * The data plane's Prometheus metrics, on a registry of its own (two data planes in one process, as in tests or the
 * embedded shape, must not share counters). Label values are bounded: endpoint ids come from the config, status is a
 * number, decision is an action type or one of a few words.
 */
export class DataplaneMetrics {
  readonly registry = new Registry();
  /** Per-rule counters, shipped with heartbeats rather than scraped: their keys (endpoint, version, rule) are unbounded for Prometheus. */
  readonly ruleCounters = new RuleCounterTable();
  readonly requests = new Counter({
    name: 'gatehouse_dataplane_requests_total',
    help: 'Requests handled, by endpoint id, response status and deciding action (upstream when none decided).',
    labelNames: ['endpoint', 'status', 'decision'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'gatehouse_dataplane_request_duration_seconds',
    help: 'Time from the request arriving to the response ending.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly configRevision = new Gauge({
    name: 'gatehouse_dataplane_config_revision',
    help: 'Applied config revision.',
    // With several workers the primary merges their values: the lowest revision any worker runs (a lagging one shows).
    aggregator: 'min',
    registers: [this.registry],
  });
  readonly configBuildSeconds = new Histogram({
    name: 'gatehouse_dataplane_config_build_seconds',
    help: 'Time to build the next config (compile what changed) before the swap.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly configAppliedAt = new Gauge({
    name: 'gatehouse_dataplane_config_applied_timestamp_seconds',
    help: 'When the running config was swapped in (Unix time).',
    // With several workers: the oldest swap among them.
    aggregator: 'min',
    registers: [this.registry],
  });
  readonly endpoints = new Gauge({
    name: 'gatehouse_dataplane_endpoints',
    help: 'Endpoints in the applied config.',
    // With several workers: the largest (they hold the same config, a revision apart at most while a change lands).
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly configApplyErrors = new Counter({
    name: 'gatehouse_dataplane_config_apply_errors_total',
    help: 'Endpoint configs rejected (a policy that does not compile, an empty source, a sha256 that does not match, or one the API rejected); the previous config of that endpoint keeps running.',
    registers: [this.registry],
  });
  readonly failingEndpoints = new Gauge({
    name: 'gatehouse_dataplane_failing_endpoints',
    help: 'Endpoints whose newest config was rejected (they run their previous config, or are not served when they have none).',
    // With several workers: the largest (they hold the same config, a revision apart at most while a change lands).
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly configConflicts = new Counter({
    name: 'gatehouse_dataplane_config_conflicts_total',
    help: "Config revisions seen with two different contents (a change message that disagrees with the API: forged or corrupted). The API's content is applied.",
    registers: [this.registry],
  });
  readonly rateLimitFallbacks = new Counter({
    name: 'gatehouse_dataplane_rate_limit_fallbacks_total',
    help: 'Rate-limit checks answered by the per-process fallback because Redis failed or timed out.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** The request-event sink, when it counts its own drops and failed sends (read at each scrape). */
  #sink:
    | Pick<
        RequestEventSink,
        'droppedEvents' | 'failedSends' | 'spilledEvents' | 'replayedEvents' | 'deferredSends' | 'queuedBatches'
      >
    | undefined;
  readonly eventSinkDrops = new Counter({
    name: 'gatehouse_dataplane_request_event_drops_total',
    help: 'Request events the sink refused or lost (full buffer, closed, undelivered at shutdown) or that failed to build.',
    registers: [this.registry],
    collect: following(() => this.#sink?.droppedEvents?.()),
  });
  readonly eventSinkSendFailures = new Counter({
    name: 'gatehouse_dataplane_request_event_send_failures_total',
    help: 'Batches of request events the sink could not hand to the request-log queue (Redis down or slow); they stay buffered and are sent again.',
    registers: [this.registry],
    collect: following(() => this.#sink?.failedSends?.()),
  });
  readonly eventSinkSpilled = new Counter({
    name: 'gatehouse_dataplane_request_event_spilled_total',
    help: 'Request events written to the spill file under GATEHOUSE_DATA_DIR because Redis could not take them (shutdown, full buffer); delivered from there once Redis answers.',
    registers: [this.registry],
    collect: following(() => this.#sink?.spilledEvents?.()),
  });
  readonly eventSinkReplayed = new Counter({
    name: 'gatehouse_dataplane_request_event_replayed_total',
    help: 'Request events delivered from spill files (this run and earlier runs).',
    registers: [this.registry],
    collect: following(() => this.#sink?.replayedEvents?.()),
  });
  readonly eventSinkDeferredSends = new Counter({
    name: 'gatehouse_dataplane_request_event_queue_full_total',
    help: "Sends of request-event batches held back because the request-log queue in Redis held DATAPLANE_EVENT_QUEUE_MAX_BATCHES (the API's worker is stopped or behind); the events stay here, in memory then on disk, and are sent once it drains.",
    registers: [this.registry],
    collect: following(() => this.#sink?.deferredSends?.()),
  });
  readonly eventQueueBatches = new Gauge({
    name: 'gatehouse_dataplane_request_log_queue_batches',
    help: "Batches waiting in the request-log queue in Redis (every data plane's) at this data plane's last reading; read while DATAPLANE_EVENT_QUEUE_MAX_BATCHES bounds it, at most once a second while sending.",
    registers: [this.registry],
    // Every worker reads the same shared queue: their sum would count it once per worker.
    aggregator: 'max',
    collect: reading(() => this.#sink?.queuedBatches?.() ?? 0),
  });
  readonly shadowRequests = new Counter({
    name: 'gatehouse_dataplane_shadow_requests_total',
    help: "Requests an endpoint's shadow policy judged, by endpoint id and whether it would have decided differently.",
    labelNames: ['endpoint', 'result'] as const,
    registers: [this.registry],
  });

  /** Per endpoint: its `same` and `differs` children, so a shadowed request does not hash its labels again. */
  readonly #shadowCounters = new Map<string, (Counter.Internal | undefined)[]>();

  countShadow(endpoint: string, differs: boolean): void {
    let counters = this.#shadowCounters.get(endpoint);
    if (counters === undefined) {
      // Bounded like the request counters' cache: endpoints come and go with the config.
      if (this.#shadowCounters.size >= 50_000) this.#shadowCounters.clear();
      this.#shadowCounters.set(endpoint, (counters = [undefined, undefined]));
    }
    // Created on first use, so /metrics shows a result only once it happened (as it did before the cache).
    const index = differs ? 1 : 0;
    (counters[index] ??= this.shadowRequests.labels(endpoint, differs ? 'differs' : 'same')).inc();
  }

  readonly upstreamErrors = new Counter({
    name: 'gatehouse_dataplane_upstream_errors_total',
    help: 'Upstream requests that failed before or while answering, by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly agentSessions = new Gauge({
    name: 'gatehouse_dataplane_agent_sessions',
    help: 'Agent sessions with at least one tunnel connection to this data plane.',
    // With several workers: each worker is a data plane the agent connects to, so the same sessions appear in each.
    aggregator: 'max',
    registers: [this.registry],
    collect: reading(() => this.#agentTunnels?.sessionCount ?? 0),
  });
  readonly agentConnections = new Gauge({
    name: 'gatehouse_dataplane_agent_connections',
    help: 'Agent tunnel connections held by this data plane.',
    registers: [this.registry],
    collect: reading(() => this.#agentTunnels?.connectionCount ?? 0),
  });

  readonly compiledPolicies = new Gauge({
    name: 'gatehouse_dataplane_compiled_policies',
    help: 'Compiled policies held in memory (at most DATAPLANE_COMPILED_POLICIES); the others are kept as text and compile on their next request.',
    registers: [this.registry],
    collect: reading(() => this.#policyCache?.residentCount ?? 0),
  });
  readonly policyCompilesOnRead = new Counter({
    name: 'gatehouse_dataplane_policy_compiles_on_request_total',
    help: 'Policies compiled because a request needed one that was not held compiled (evicted, or not compiled yet after a last-known-good boot). Growing fast means DATAPLANE_COMPILED_POLICIES is below the endpoints with traffic.',
    registers: [this.registry],
    collect: following(() => this.#policyCache?.compiles.reads),
  });

  #policyCache: { readonly residentCount: number; readonly compiles: { readonly reads: number } } | undefined;

  readonly requestsWaited = new Counter({
    name: 'gatehouse_dataplane_requests_waited_total',
    help: 'Requests that waited for a later event-loop turn before they started: bursts beyond DATAPLANE_ADMISSIONS_PER_TURN in one turn. The wait counts in the request log duration.',
    registers: [this.registry],
    collect: following(() => this.#admissions?.waitedTotal),
  });
  #admissions: { readonly waitedTotal: number } | undefined;

  /** The waited-requests counter follows the admission's own count at each scrape. */
  trackAdmissions(admissions: { readonly waitedTotal: number }): void {
    this.#admissions = admissions;
  }

  /** The compiled-policy metrics read the cache's own counts at each scrape. */
  trackPolicyCache(cache: { readonly residentCount: number; readonly compiles: { readonly reads: number } }): void {
    this.#policyCache = cache;
  }

  #agentTunnels: { readonly sessionCount: number; readonly connectionCount: number } | undefined;

  /**
   * Labelled children by endpoint, then status, then decision: prom-client hashes the label object on every inc
   * otherwise. Nested maps rather than one "endpoint status decision" key: the strings' hashes are cached on them, a
   * joined key was a new string to build and hash per request.
   */
  readonly #requestCounters = new Map<string, Map<number, Map<string, { inc(): void }>>>();
  #requestCounterCount = 0;

  /**
   * Makes the drops and send-failure metrics follow a sink's own cumulative counters (the BullMQ sink's drops also
   * count events it accepted but could not deliver); refusals are then not counted twice.
   */
  trackSink(sink: RequestEventSink): void {
    this.#sink = sink;
  }

  /** The agent gauges read the tunnels' own counts at each scrape. */
  trackAgentTunnels(tunnels: { readonly sessionCount: number; readonly connectionCount: number }): void {
    this.#agentTunnels = tunnels;
  }

  /** A sink's emit() returned false. */
  countRefusedEvent(): void {
    if (this.#sink?.droppedEvents === undefined) this.eventSinkDrops.inc();
  }

  /** Counts one request; the hot path's only metric write besides the latency histogram. */
  countRequest(endpoint: string, status: number, decision: string): void {
    let counter = this.#requestCounters.get(endpoint)?.get(status)?.get(decision);
    if (counter === undefined) {
      // Bounded like any per-label cache: endpoints come and go with the config.
      if (this.#requestCounterCount >= 50_000) {
        this.#requestCounters.clear();
        this.#requestCounterCount = 0;
      }
      let byStatus = this.#requestCounters.get(endpoint);
      if (byStatus === undefined)
        this.#requestCounters.set(endpoint, (byStatus = new Map<number, Map<string, { inc(): void }>>()));
      let byDecision = byStatus.get(status);
      if (byDecision === undefined) byStatus.set(status, (byDecision = new Map<string, { inc(): void }>()));
      counter = this.requests.labels(endpoint, String(status), decision);
      byDecision.set(decision, counter);
      this.#requestCounterCount += 1;
    }
    counter.inc();
  }

  constructor(collectProcessMetrics: boolean) {
    if (collectProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_dataplane_' });
  }
}

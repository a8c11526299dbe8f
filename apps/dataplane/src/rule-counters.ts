import type { RuleCounterDelta } from '@gatehouse/contracts';
import type { CompiledPolicy, Phase, RuleTrace } from '@gatehouse/traffic-policy';

/**
 * Per-rule counters (issue 17 item 4): evaluations, hits, denies, summed latency and the last match of each rule of
 * each (endpoint, policy version) this data plane ran since its previous heartbeat. One set of typed arrays per
 * (endpoint, version), sized by the policy's rule count, so counting a request is index arithmetic with no allocation,
 * and the table is bounded by the endpoints that had traffic in one heartbeat interval — never by clients.
 */

/** on_event_stream_message rules run per SSE event outside the request's trace, so they are not counted here. */
type CountedPhase = Exclude<Phase, 'on_event_stream_message'>;
const phaseOrder: readonly CountedPhase[] = ['on_tcp_connect', 'on_http_request', 'on_http_response'];

/** An endpoint's counters for one policy version. */
class VersionCounters {
  /** Where each phase's rules start in the arrays. */
  readonly offsets: Readonly<Record<CountedPhase, number>>;
  readonly evaluations: Float64Array;
  readonly hits: Float64Array;
  readonly denies: Float64Array;
  readonly latencyMs: Float64Array;
  /** Epoch milliseconds; 0 = no match in this interval. */
  readonly lastMatchMs: Float64Array;
  touched = false;

  constructor(
    readonly endpointId: string,
    readonly version: number,
    readonly policy: CompiledPolicy,
  ) {
    const request = policy.phases.on_tcp_connect.length;
    const response = request + policy.phases.on_http_request.length;
    this.offsets = { on_tcp_connect: 0, on_http_request: request, on_http_response: response };
    const size = response + policy.phases.on_http_response.length;
    this.evaluations = new Float64Array(size);
    this.hits = new Float64Array(size);
    this.denies = new Float64Array(size);
    this.latencyMs = new Float64Array(size);
    this.lastMatchMs = new Float64Array(size);
  }

  slot(phase: Phase, ruleIndex: number): number {
    if (phase === 'on_event_stream_message') return -1;
    const slot = this.offsets[phase] + ruleIndex;
    return ruleIndex >= 0 && ruleIndex < this.policy.phases[phase].length ? slot : -1;
  }

  /** Rows with anything counted, and the arrays zeroed: what the next heartbeat carries (`touched` stays when full). */
  drainInto(out: RuleCounterDelta[], limit: number): void {
    for (const phase of phaseOrder) {
      const offset = this.offsets[phase];
      const count = this.policy.phases[phase].length;
      for (let ruleIndex = 0; ruleIndex < count; ruleIndex++) {
        const slot = offset + ruleIndex;
        if (this.evaluations[slot] === 0 && this.denies[slot] === 0) continue;
        // Full: what is left stays counted (and touched) for the next heartbeat.
        if (out.length >= limit) return;
        out.push({
          endpoint_id: this.endpointId,
          policy_version: this.version,
          phase,
          rule_index: ruleIndex,
          evaluations: this.evaluations[slot]!,
          hits: this.hits[slot]!,
          denies: this.denies[slot]!,
          latency_ms_sum: this.latencyMs[slot]!,
          last_match_ms: this.lastMatchMs[slot] === 0 ? null : Math.round(this.lastMatchMs[slot]!),
        });
        this.evaluations[slot] = 0;
        this.hits[slot] = 0;
        this.denies[slot] = 0;
        this.latencyMs[slot] = 0;
        this.lastMatchMs[slot] = 0;
      }
    }
    this.touched = false;
  }

  /** Adds back a delta that could not be shipped (the heartbeat failed). */
  restore(delta: RuleCounterDelta): void {
    const slot = this.slot(delta.phase, delta.rule_index);
    if (slot === -1) return;
    this.evaluations[slot]! += delta.evaluations;
    this.hits[slot]! += delta.hits;
    this.denies[slot]! += delta.denies;
    this.latencyMs[slot]! += delta.latency_ms_sum;
    if (delta.last_match_ms !== null) this.lastMatchMs[slot] = Math.max(this.lastMatchMs[slot]!, delta.last_match_ms);
    this.touched = true;
  }
}

function samePhases(left: CompiledPolicy, right: CompiledPolicy): boolean {
  return left === right || phaseOrder.every((phase) => left.phases[phase].length === right.phases[phase].length);
}

/** Older versions' counters still waiting for a heartbeat are kept up to this many; beyond, the oldest are dropped. */
const MAX_RETIRED = 1_024;

export class RuleCounterTable {
  readonly #byEndpoint = new Map<string, VersionCounters>();
  /** Counters of versions an endpoint moved away from, until the next heartbeat ships them. */
  #retired: VersionCounters[] = [];
  /** Deltas a failed heartbeat handed back for versions no longer counted: shipped with the next one. */
  #unsent: RuleCounterDelta[] = [];

  /** The counters of this endpoint's running version; a new version retires the previous one's. */
  #countersFor(endpointId: string, version: number, policy: CompiledPolicy): VersionCounters {
    const current = this.#byEndpoint.get(endpointId);
    // The same version compiled again (the compiled-policy cache evicted it and a request recompiled it) is the same
    // policy: keep counting into the same rows, so one heartbeat never carries two rows for one rule.
    if (current !== undefined && current.version === version && samePhases(current.policy, policy)) return current;
    const next = new VersionCounters(endpointId, version, policy);
    if (current?.touched === true) {
      this.#retired.push(current);
      if (this.#retired.length > MAX_RETIRED) this.#retired.shift();
    }
    this.#byEndpoint.set(endpointId, next);
    return next;
  }

  /**
   * Counts one endpoint's part of a request: every rule its trace reached, and the rule that decided the request when
   * the status is outside 2xx. `decidingRule` is the trace entry whose decision the request ended with, if any.
   */
  record(
    endpointId: string,
    version: number,
    policy: CompiledPolicy,
    trace: readonly RuleTrace[],
    decidingRule: { phase: Phase; rule_index: number } | undefined,
    status: number,
    nowMs: number,
  ): void {
    const counters = this.#countersFor(endpointId, version, policy);
    counters.touched = true;
    for (let index = 0; index < trace.length; index++) {
      const rule = trace[index]!;
      const slot = counters.slot(rule.phase, rule.rule_index);
      if (slot === -1) continue;
      counters.evaluations[slot]! += 1;
      counters.latencyMs[slot]! += rule.elapsed_ms ?? 0;
      if (rule.matched) {
        counters.hits[slot]! += 1;
        counters.lastMatchMs[slot] = nowMs;
      }
    }
    if (decidingRule !== undefined && (status < 200 || status > 299)) {
      const slot = counters.slot(decidingRule.phase, decidingRule.rule_index);
      if (slot !== -1) counters.denies[slot]! += 1;
    }
  }

  /**
   * Everything counted since the last drain, at most `limit` rows (the rest stays for the next one), with the
   * counters zeroed. Endpoints with no traffic since the previous drain are forgotten, which bounds the table.
   */
  drain(limit: number): RuleCounterDelta[] {
    const out = this.#unsent.splice(0, limit);
    while (this.#retired.length > 0 && out.length < limit) {
      const retired = this.#retired[0]!;
      retired.drainInto(out, limit);
      if (retired.touched) break;
      this.#retired.shift();
    }
    for (const [endpointId, counters] of this.#byEndpoint) {
      if (out.length >= limit) break;
      if (!counters.touched) {
        this.#byEndpoint.delete(endpointId);
        continue;
      }
      counters.drainInto(out, limit);
    }
    return out;
  }

  /** Hands back what a failed heartbeat carried, so the counts reach the control plane with the next one. */
  restore(deltas: readonly RuleCounterDelta[]): void {
    for (const delta of deltas) {
      const counters = this.#byEndpoint.get(delta.endpoint_id);
      if (counters !== undefined && counters.version === delta.policy_version) counters.restore(delta);
      else if (this.#unsent.length < MAX_RETIRED * 16) this.#unsent.push(delta);
    }
  }
}

import { Injectable } from '@nestjs/common';
import type { PolicyRuleStats, RuleCounterDelta, RuleCounterWindow, RuleStats } from '@gatehouse/contracts';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { HEARTBEAT_INTERVAL_SECONDS } from '../dataplane-sync/heartbeat-interval';
import {
  RULE_COUNTER_RETENTION_MS,
  RuleCountersRepository,
  type RuleCounterWindowRow,
} from './rule-counters.repository';

const phaseOrder: Record<string, number> = { on_tcp_connect: 0, on_http_request: 1, on_http_response: 2 };
/** Expired rows are deleted at most this often per API process (heartbeats arrive every few seconds fleet-wide). */
const PRUNE_EVERY_MS = 5 * 60 * 1000;

@Injectable()
export class RuleCountersService {
  #lastPruneAt = 0;

  constructor(private readonly counters: RuleCountersRepository) {}

  /** Stores what one heartbeat carried; the retention delete rides along every few minutes. */
  async recordHeartbeatCounters(deltas: readonly RuleCounterDelta[], now = new Date()): Promise<void> {
    await this.counters.addDeltas(deltas, now);
    if (now.getTime() - this.#lastPruneAt >= PRUNE_EVERY_MS) {
      this.#lastPruneAt = now.getTime();
      await this.counters.deleteOlderThan(new Date(now.getTime() - RULE_COUNTER_RETENTION_MS));
    }
  }

  async getPolicyRuleStats(
    endpointId: string,
    version: number | undefined,
    now = new Date(),
  ): Promise<PolicyRuleStats> {
    const endpoint = await this.counters.findEndpointActiveVersion(endpointId);
    if (endpoint === null) throw new AppError(ErrorCode.ENDPOINT_NOT_FOUND, `No endpoint ${endpointId}`);
    // A version the endpoint never had is a wrong question, not one with no counts yet.
    if (version !== undefined && !(await this.counters.versionExists(endpointId, version)))
      throw new AppError(ErrorCode.POLICY_VERSION_NOT_FOUND, `Endpoint ${endpointId} has no policy version ${version}`);
    const policyVersion = version ?? endpoint.activeVersion;
    const rows = policyVersion === null ? [] : await this.counters.readWindows(endpointId, policyVersion, now);
    return {
      endpoint_id: endpointId,
      policy_version: policyVersion,
      heartbeat_interval_seconds: HEARTBEAT_INTERVAL_SECONDS,
      rules: rows
        .map(toRuleStats)
        .sort((a, b) => phaseOrder[a.phase]! - phaseOrder[b.phase]! || a.rule_index - b.rule_index),
    };
  }
}

function toRuleStats(row: RuleCounterWindowRow): RuleStats {
  return {
    phase: row.phase as RuleStats['phase'],
    rule_index: row.rule_index,
    last_hour: toWindow(row.hour_evaluations, row.hour_hits, row.hour_denies, row.hour_latency_ms),
    last_day: toWindow(row.day_evaluations, row.day_hits, row.day_denies, row.day_latency_ms),
    last_match_at: row.last_match_at?.toISOString() ?? null,
  };
}

function toWindow(evaluations: bigint, hits: bigint, denies: bigint, latencyMs: number): RuleCounterWindow {
  const count = Number(evaluations);
  return {
    evaluations: count,
    hits: Number(hits),
    denies: Number(denies),
    avg_latency_ms: count === 0 ? null : Math.round((latencyMs / count) * 1000) / 1000,
  };
}

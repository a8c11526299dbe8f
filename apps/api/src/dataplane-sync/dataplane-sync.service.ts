import { Injectable } from '@nestjs/common';
import { AgentSessionsRepository } from '../agent-sessions/agent-sessions.repository';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { ConfigOutboxRepository } from '../config-publisher/config-outbox.repository';
import { PublishedPolicyGuard } from '../config-publisher/published-policy-guard';
import type { ConfigChangesResponse, ConfigSnapshot, HeartbeatResponse } from '@gatehouse/contracts';
import {
  DataplaneRequestEventsSchema,
  DataplaneTrafficSchema,
  HeartbeatRequestSchema,
  trafficUrl,
  type DataplaneRequestEvents,
} from '@gatehouse/contracts';
import { DataplaneSyncRepository } from './dataplane-sync.repository';
import { HEARTBEAT_INTERVAL_SECONDS } from './heartbeat-interval';
import { RuleCountersService } from '../rule-counters/rule-counters.service';
import type { DataplaneListResponse, DataplaneTrafficResponse } from './dataplanes.dto';
import { toConfigChangeEvent } from './sync-presenter';
import { DataplaneSecretsService } from '../vaults/dataplane-secrets.service';
import type { z } from 'zod';

export { HEARTBEAT_INTERVAL_SECONDS } from './heartbeat-interval';

export function etagForRevision(revision: number | bigint): string {
  return `"rev-${revision.toString()}"`;
}

/** True when an If-None-Match header lists this ETag (or `*`). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === etag || tag === '*');
}

@Injectable()
export class DataplaneSyncService {
  constructor(
    private readonly sync: DataplaneSyncRepository,
    private readonly outbox: ConfigOutboxRepository,
    private readonly guard: PublishedPolicyGuard,
    private readonly agentSessions: AgentSessionsRepository,
    private readonly secrets: DataplaneSecretsService,
    private readonly ruleCounters: RuleCountersService,
  ) {}

  /** The snapshot, or null when If-None-Match already names the latest revision. */
  async getConfigSnapshot(ifNoneMatch: string | undefined): Promise<{ etag: string; snapshot: ConfigSnapshot | null }> {
    const latest = await this.outbox.findLatestRevision();
    if (etagMatches(ifNoneMatch, etagForRevision(latest))) return { etag: etagForRevision(latest), snapshot: null };
    // Every stored policy is validated again on its way out: one written without the API never reaches traffic.
    const vetted = this.guard.vetSnapshot(await this.sync.readConfigSnapshot());
    // The secrets the active policies name travel with them, sealed for data planes, read at this moment.
    const snapshot = { ...vetted, endpoints: await this.secrets.attach(vetted.endpoints) };
    return { etag: etagForRevision(snapshot.revision), snapshot };
  }

  async listConfigChanges(since: number, limit: number): Promise<ConfigChangesResponse> {
    const latest = await this.outbox.findLatestRevision();
    const oldest = await this.outbox.findOldestRevision();
    const sinceRevision = BigInt(since);
    // Complete only if every revision after `since` is still stored; a `since` beyond the latest revision means the
    // data plane saw a different history (e.g. a restored database): both need a full snapshot.
    const pruned = oldest !== null && sinceRevision < oldest - 1n;
    if (pruned || sinceRevision > latest) {
      throw new AppError(
        ErrorCode.CONFIG_REVISION_GONE,
        `Changes since revision ${since} are not available (latest ${latest.toString()}); fetch /api/dataplane/config`,
      );
    }
    const changes = await this.outbox.listChangesSince(sinceRevision, limit + 1);
    const vetted = changes.slice(0, limit).map((change) => this.guard.vetChange(toConfigChangeEvent(change)));
    // Secret values are the current ones, not those at the change's revision: a rotation is itself a later change.
    const withEndpoint = vetted.filter((change) => change.endpoint !== null);
    const attached = await this.secrets.attach(withEndpoint.map((change) => change.endpoint!));
    const byChange = new Map(withEndpoint.map((change, index) => [change, attached[index]!]));
    return {
      revision: Number(latest),
      changes: vetted.map((change) => {
        const endpoint = byChange.get(change);
        return endpoint === undefined ? change : { ...change, endpoint };
      }),
      has_more: changes.length > limit,
    };
  }

  async recordHeartbeat(heartbeat: z.output<typeof HeartbeatRequestSchema>): Promise<HeartbeatResponse> {
    await this.sync.upsertDataplaneHeartbeat({
      id: heartbeat.id,
      hostname: heartbeat.hostname,
      version: heartbeat.version,
      appliedRevision: BigInt(heartbeat.applied_revision),
      lastError: heartbeat.last_error,
      traffic: heartbeat.traffic ?? null,
      requestEvents: heartbeat.request_events ?? null,
    });
    const now = new Date();
    if (heartbeat.rule_counters !== undefined)
      await this.ruleCounters.recordHeartbeatCounters(heartbeat.rule_counters, now);
    // Absent from data planes that predate agents: they hold no sessions, and nothing of theirs is touched.
    let ended: string[] = [];
    if (heartbeat.agent_sessions !== undefined) {
      await this.agentSessions.refreshFromHeartbeat(heartbeat.id, heartbeat.agent_sessions, now);
      ended = await this.agentSessions.findNotLive(heartbeat.agent_sessions);
    }
    const latest = await this.outbox.findLatestRevision();
    return {
      revision: Number(latest),
      heartbeat_interval_seconds: HEARTBEAT_INTERVAL_SECONDS,
      agent_dataplanes: await this.agentSessions.listLiveDataplanes(now),
      ended_agent_sessions: ended,
    };
  }

  async listDataplanes(): Promise<DataplaneListResponse> {
    const [rows, latest] = await Promise.all([this.sync.listDataplanes(), this.outbox.findLatestRevision()]);
    const staleBefore = Date.now() - 3 * HEARTBEAT_INTERVAL_SECONDS * 1000;
    return {
      dataplanes: rows.map((row) => ({
        id: row.id,
        hostname: row.hostname,
        version: row.version,
        applied_revision: Number(row.appliedRevision),
        lag: Math.max(0, Number(latest - row.appliedRevision)),
        last_error: row.lastError,
        traffic: toTrafficResponse(row.traffic, row.hostname),
        request_events: toRequestEventsResponse(row.requestEvents),
        status: row.lastHeartbeatAt.getTime() >= staleBefore ? 'online' : 'stale',
        last_heartbeat_at: row.lastHeartbeatAt.toISOString(),
        created_at: row.createdAt.toISOString(),
      })),
      next_page_uri: null,
    };
  }
}

/** The stored request-event counters; like the traffic address, anything the schema would not accept reads as null. */
function toRequestEventsResponse(stored: unknown): DataplaneRequestEvents | null {
  const parsed = DataplaneRequestEventsSchema.safeParse(stored);
  return parsed.success ? parsed.data : null;
}

/**
 * The stored traffic address with the URL clients use (contracts `trafficUrl`, one rule for every screen). The column
 * holds what a heartbeat's schema accepted; anything else (hand-edited, an older shape) reads as null, not a 500.
 */
function toTrafficResponse(stored: unknown, hostname: string): DataplaneTrafficResponse | null {
  const parsed = DataplaneTrafficSchema.safeParse(stored);
  if (!parsed.success) return null;
  const traffic = parsed.data;
  return {
    scheme: traffic.scheme,
    host: traffic.host,
    port: traffic.port,
    public_url: traffic.public_url ?? null,
    url: trafficUrl(traffic, hostname),
  };
}

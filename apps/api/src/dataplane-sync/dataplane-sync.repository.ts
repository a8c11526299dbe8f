import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import { type Dataplane, Prisma } from '../generated/prisma/client';
import type { ConfigSnapshot, DataplaneRequestEvents, DataplaneTraffic, SyncEndpoint } from '@gatehouse/contracts';
import { toSyncAgent } from '../agent-sessions/agent-sessions.presenter';
import { toSyncIpCategory } from './sync-presenter';

interface SnapshotEndpointRow {
  id: string;
  url: string;
  type: 'cloud' | 'internal' | 'agent';
  proto: string;
  host: string;
  port: number;
  upstream_url: string | null;
  upstream_host_header: 'preserve' | 'rewrite';
  request_log_capture_headers: boolean;
  request_log_capture_bodies: boolean;
  policy_version: number | null;
  policy_sha256: string | null;
  policy_source: string | null;
  shadow_policy_sha256: string | null;
  shadow_policy_source: string | null;
}

function toSyncEndpointFromRow(row: SnapshotEndpointRow): SyncEndpoint {
  return {
    id: row.id,
    url: row.url,
    type: row.type,
    proto: row.proto === 'https' ? 'https' : 'http',
    host: row.host,
    port: row.port,
    upstream_url: row.upstream_url,
    upstream_host_header: row.upstream_host_header,
    policy:
      row.policy_version !== null && row.policy_sha256 !== null && row.policy_source !== null
        ? { version: row.policy_version, sha256: row.policy_sha256, source: row.policy_source }
        : null,
    request_log_capture: { headers: row.request_log_capture_headers, bodies: row.request_log_capture_bodies },
    policy_rejected: null,
    agent: null,
    shadow_policy:
      row.shadow_policy_sha256 !== null && row.shadow_policy_source !== null
        ? { sha256: row.shadow_policy_sha256, source: row.shadow_policy_source }
        : null,
  };
}

@Injectable()
export class DataplaneSyncRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * The whole config at one revision. REPEATABLE READ gives one consistent view; because outbox writers commit in
   * revision order, every change up to the returned revision is included and none after it.
   */
  async readConfigSnapshot(): Promise<ConfigSnapshot> {
    return this.prisma.$transaction(
      async (tx) => {
        const latest = await tx.configChange.findFirst({ orderBy: { revision: 'desc' }, select: { revision: true } });
        // One join on the (endpoint_id, version) primary key: the active version only, never the whole history.
        const endpoints = await tx.$queryRaw<SnapshotEndpointRow[]>`
          SELECT e.id, e.url, e.type::text AS type, e.proto, e.host, e.port, e.upstream_url,
                 e.upstream_host_header::text AS upstream_host_header,
                 e.request_log_capture_headers, e.request_log_capture_bodies,
                 pv.version AS policy_version, pv.sha256 AS policy_sha256, pv.source AS policy_source,
                 e.shadow_policy_sha256, e.shadow_policy_source
          FROM endpoints e
          LEFT JOIN policy_versions pv ON pv.endpoint_id = e.id AND pv.version = e.active_policy_version
          ORDER BY e.id`;
        const categories = await tx.ipCategory.findMany({ orderBy: { name: 'asc' } });
        const members = await tx.agentEndpointMember.findMany({
          orderBy: [{ endpointId: 'asc' }, { joinedAt: 'asc' }],
        });
        const membersByEndpoint = new Map<string, typeof members>();
        for (const member of members) {
          membersByEndpoint.set(member.endpointId, [...(membersByEndpoint.get(member.endpointId) ?? []), member]);
        }
        return {
          revision: Number(latest?.revision ?? 0n),
          generated_at: new Date().toISOString(),
          endpoints: endpoints.map((row) => {
            const endpoint = toSyncEndpointFromRow(row);
            return row.type === 'agent'
              ? { ...endpoint, agent: toSyncAgent(membersByEndpoint.get(row.id) ?? []) }
              : endpoint;
          }),
          ip_categories: categories.map(toSyncIpCategory),
        };
      },
      { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, timeout: 30_000 },
    );
  }

  upsertDataplaneHeartbeat(heartbeat: {
    id: string;
    hostname: string;
    version: string;
    appliedRevision: bigint;
    lastError: string | null;
    /** Null when the heartbeat named no traffic address: an older address is cleared rather than kept. */
    traffic: DataplaneTraffic | null;
    /** Null when the heartbeat carried no request-event counters: older ones are cleared rather than kept. */
    requestEvents: DataplaneRequestEvents | null;
  }): Promise<Dataplane> {
    const { id, traffic, requestEvents, ...rest } = heartbeat;
    const fields = {
      ...rest,
      traffic: traffic === null ? Prisma.DbNull : traffic,
      requestEvents: requestEvents === null ? Prisma.DbNull : requestEvents,
    };
    const now = new Date();
    return this.prisma.dataplane.upsert({
      where: { id },
      create: { id, ...fields, lastHeartbeatAt: now },
      update: { ...fields, lastHeartbeatAt: now },
    });
  }

  listDataplanes(): Promise<Dataplane[]> {
    return this.prisma.dataplane.findMany({ orderBy: { lastHeartbeatAt: 'desc' } });
  }
}

import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

/** One recorded request with what the request log says happened to it. */
export interface RecordedRequestRow {
  id: string;
  timestamp: Date;
  status: number;
  decision: unknown;
  forwarded_to: string | null;
  facts: unknown;
}

export interface ReplayEndpointRow {
  id: string;
  url: string;
  host: string;
  type: string;
  activeVersion: number | null;
}

/** Reads what a replay needs: the endpoint, a policy version's text and the newest recorded requests. */
@Injectable()
export class ReplayRepository {
  constructor(private readonly prisma: PrismaService) {}

  async findEndpoint(id: string): Promise<ReplayEndpointRow | null> {
    const row = await this.prisma.endpoint.findUnique({
      where: { id },
      select: { id: true, url: true, host: true, type: true, activePolicyVersion: true },
    });
    if (row === null) return null;
    return { id: row.id, url: row.url, host: row.host, type: row.type, activeVersion: row.activePolicyVersion };
  }

  async findPolicySource(endpointId: string, version: number): Promise<string | null> {
    const row = await this.prisma.policyVersion.findUnique({
      where: { endpointId_version: { endpointId, version } },
      select: { source: true },
    });
    return row?.source ?? null;
  }

  /** The newest `limit` recorded requests of the endpoint, newest first (walks (endpoint_id, ordinal DESC)). */
  listRecordedRequests(endpointId: string, limit: number): Promise<RecordedRequestRow[]> {
    return this.prisma.$queryRaw<RecordedRequestRow[]>`
      SELECT r.id, r."timestamp", r.status, r.decision, r.forwarded_to, f.facts
      FROM request_replay_facts f JOIN request_logs r ON r.seq = f.seq AND r.id = f.request_log_id
      WHERE f.endpoint_id = ${endpointId}
      ORDER BY f.ordinal DESC LIMIT ${limit}`;
  }
}

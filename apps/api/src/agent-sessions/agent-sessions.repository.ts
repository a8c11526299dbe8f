import { type AgentDataplane, DataplaneTrafficSchema, type EndpointAddress, trafficUrl } from '@gatehouse/contracts';
import { Injectable } from '@nestjs/common';
import { AuditEventsRepository } from '../audit-events/audit-events.repository';
import type { RequestContext } from '../auth/actor';
import { newId } from '../common/ids';
import { ConfigOutboxRepository } from '../config-publisher/config-outbox.repository';
import { PrismaService, type TransactionClient } from '../database/prisma.service';
import { toSyncEndpoint } from '../dataplane-sync/sync-presenter';
import { auditViewOfEndpoint, type EndpointWithPolicy } from '../endpoints/endpoints.presenter';
import { type Authtoken, Prisma } from '../generated/prisma/client';
import {
  endpointMembers,
  presentAgentSession,
  type SessionWithDetails,
  sessionDetails,
} from './agent-sessions.presenter';

/** A data plane that has not listed a session in its heartbeats for this long no longer holds it. */
export const AGENT_DATAPLANE_EXPIRY_MS = 45_000;
/** Data planes that heartbeated this recently are offered to agents. */
export const LIVE_DATAPLANE_WINDOW_MS = 60_000;
/**
 * A heartbeat that does not list a session drops this data plane's hold on it, unless the hold was confirmed this
 * recently: a heartbeat composed just before a registration must not undo it.
 */
const HEARTBEAT_OMISSION_MARGIN_MS = 10_000;

/** `replaced`: a new session of the same authtoken claimed its endpoint while no data plane held it (a restart). */
export type EndReason = 'no-dataplane' | 'authtoken-revoked' | 'replaced';

/** One declared endpoint, checked and ready to claim. */
export interface EndpointClaim {
  address: EndpointAddress;
  description: string;
  metadata: string;
  upstream: string;
  upstreamProtocol: string;
  poolingEnabled: boolean;
  /** Null when the agent declared no policy. */
  policy: { source: string; sha256: string } | null;
}

/** How a claim ended; `refused` carries the outcome's error code and sentence. */
export type ClaimResult =
  | { status: 'online'; endpointId: string }
  | { status: 'refused'; errorCode: string; message: string }
  | { status: 'session-ended' };

export type AttachResult =
  | { status: 'attached'; sessionId: string; started: boolean }
  | { status: 'revoked'; revokedAt: Date }
  | { status: 'key-of-another-token' };

const withEndpointDetails = {
  policyVersions: { orderBy: { version: 'desc' }, take: 1 },
  agentMembers: endpointMembers,
} as const;

function toEndpointWithPolicy(
  row: Prisma.EndpointGetPayload<{ include: typeof withEndpointDetails }>,
): EndpointWithPolicy {
  const { policyVersions, ...endpoint } = row;
  return { ...endpoint, activePolicy: policyVersions[0] ?? null };
}

/** Conflicts a retry resolves: a unique index lost a race, a deadlock, a serialization failure. */
export function isRetryableConflict(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) return ['P2002', 'P2034'].includes(error.code);
  const text = error instanceof Error ? error.message : '';
  return /deadlock detected|could not serialize/.test(text);
}

export async function withRetry<T>(attempts: number, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= attempts || !isRetryableConflict(error)) throw error;
    }
  }
}

/**
 * Agent sessions, the data planes holding them, and the agent endpoints they serve. Lock order everywhere:
 * authtoken row → session row → endpoint rows (by id) → outbox advisory lock, so concurrent registrations, sweeps and
 * revocations queue instead of deadlocking. Every endpoint change appends its config change in the same transaction.
 */
@Injectable()
export class AgentSessionsRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly auditEvents: AuditEventsRepository,
    private readonly outbox: ConfigOutboxRepository,
  ) {}

  findAuthtokenBySecretHash(secretHash: string): Promise<Authtoken | null> {
    return this.prisma.authtoken.findUnique({ where: { secretHash } });
  }

  async touchAuthtoken(id: string, now: Date): Promise<void> {
    await this.prisma.authtoken.update({ where: { id }, data: { lastUsedAt: now } });
  }

  /**
   * Finds the live session of this session_key or starts one, and records that `dataplaneId` holds it. The authtoken
   * row is read under a share lock, so a revocation either commits first (and this refuses) or waits and then ends
   * the session this creates.
   */
  attachSession(
    context: RequestContext,
    token: Authtoken,
    session: { sessionKey: string; agentVersion: string; hostname: string; remoteAddress: string },
    dataplaneId: string,
    now: Date,
  ): Promise<AttachResult> {
    return withRetry(3, () =>
      this.prisma.$transaction(async (tx): Promise<AttachResult> => {
        const [locked] = await tx.$queryRaw<{ revoked_at: Date | null }[]>`
          SELECT revoked_at FROM authtokens WHERE id = ${token.id} FOR SHARE`;
        if (!locked || locked.revoked_at !== null) return { status: 'revoked', revokedAt: locked?.revoked_at ?? now };
        const [existing] = await tx.$queryRaw<{ id: string; authtoken_id: string }[]>`
          SELECT id, authtoken_id FROM agent_sessions WHERE live_session_key = ${session.sessionKey} FOR UPDATE`;
        if (existing && existing.authtoken_id !== token.id) return { status: 'key-of-another-token' };
        let sessionId = existing?.id;
        if (sessionId === undefined) {
          sessionId = newId('as');
          await tx.agentSession.create({
            data: {
              id: sessionId,
              authtokenId: token.id,
              sessionKey: session.sessionKey,
              liveSessionKey: session.sessionKey,
              agentVersion: session.agentVersion,
              hostname: session.hostname,
              remoteAddress: session.remoteAddress,
              startedAt: now,
              lastSeenAt: now,
            },
          });
        } else {
          await tx.agentSession.update({ where: { id: sessionId }, data: { lastSeenAt: now, detachedAt: null } });
        }
        await tx.agentSessionDataplane.upsert({
          where: { sessionId_dataplaneId: { sessionId, dataplaneId } },
          create: { sessionId, dataplaneId, connectedAt: now, lastSeenAt: now },
          update: { lastSeenAt: now },
        });
        if (existing === undefined) {
          const created = await this.loadSession(tx, sessionId);
          await this.auditEvents.insertAuditEvent(tx, context, {
            kind: 'agent_session.started',
            entityId: sessionId,
            before: null,
            after: presentAgentSession(created),
          });
        }
        return { status: 'attached', sessionId, started: existing === undefined };
      }),
    );
  }

  /**
   * Makes `sessionId` serve `claim.address.url`: a free URL becomes a new agent endpoint; a pooled agent endpoint
   * gains a member when the pool's rules agree (see ARCHITECTURE.md "Agent sessions"); anything else is refused. The
   * unique URL index decides races: the loser retries and finds the winner's endpoint.
   */
  claimEndpoint(context: RequestContext, sessionId: string, claim: EndpointClaim, now: Date): Promise<ClaimResult> {
    return withRetry(4, () =>
      this.prisma.$transaction(async (tx): Promise<ClaimResult> => {
        const [session] = await tx.$queryRaw<{ ended_at: Date | null }[]>`
          SELECT ended_at FROM agent_sessions WHERE id = ${sessionId} FOR SHARE`;
        if (!session || session.ended_at !== null) return { status: 'session-ended' };
        const url = claim.address.url;
        const [owner] = await tx.$queryRaw<{ id: string; type: string }[]>`
          SELECT id, type::text AS type FROM endpoints WHERE url = ${url} FOR UPDATE`;
        if (!owner) return this.createAgentEndpoint(tx, context, sessionId, claim, now);
        if (owner.type !== 'agent') {
          return {
            status: 'refused',
            errorCode: 'ENDPOINT_URL_TAKEN',
            message: `${url} is taken by a ${owner.type} endpoint (${owner.id}); choose another URL or delete that endpoint`,
          };
        }
        const endpoint = await this.loadEndpoint(tx, owner.id);
        if (endpoint.agentMembers.some((member) => member.sessionId === sessionId)) {
          return { status: 'online', endpointId: owner.id };
        }
        const pooled = endpoint.agentMembers.some((member) => member.poolingEnabled);
        const holders = endpoint.agentMembers.map((member) => member.sessionId).join(', ');
        if (!pooled) {
          if (await this.holdersAreRestartedSelf(tx, sessionId, endpoint.agentMembers)) {
            // The agent restarted (a new process is a new session) before the old session's grace period ran out:
            // the old one can serve nothing, so it ends now and the URL goes to the new one, with no operator step.
            for (const member of endpoint.agentMembers) {
              await this.endSessionInTransaction(tx, context, member.sessionId, 'replaced', now);
            }
            return this.createAgentEndpoint(tx, context, sessionId, claim, now);
          }
          return {
            status: 'refused',
            errorCode: 'ENDPOINT_URL_TAKEN',
            message: `${url} is served by agent session ${holders} without pooling; to share it, set pooling_enabled: true on every agent that declares it`,
          };
        }
        if (!claim.poolingEnabled) {
          return {
            status: 'refused',
            errorCode: 'POOLING_MISMATCH',
            message: `${url} is a pool (agent session ${holders}); set pooling_enabled: true to join it`,
          };
        }
        const poolSha = endpoint.activePolicy?.sha256 ?? null;
        if (poolSha !== (claim.policy?.sha256 ?? null)) {
          return {
            status: 'refused',
            errorCode: 'POLICY_CONFLICT',
            message: `${url} is a pool whose members declare ${poolSha === null ? 'no traffic_policy' : `traffic_policy sha256 ${poolSha.slice(0, 12)}…`}; every member must declare the same policy text (this agent declares ${claim.policy === null ? 'none' : `sha256 ${claim.policy.sha256.slice(0, 12)}…`})`,
          };
        }
        await tx.agentEndpointMember.create({
          data: {
            endpointId: owner.id,
            sessionId,
            upstream: claim.upstream,
            upstreamProtocol: claim.upstreamProtocol,
            poolingEnabled: true,
            joinedAt: now,
          },
        });
        await this.appendEndpointChange(tx, await this.loadEndpoint(tx, owner.id));
        return { status: 'online', endpointId: owner.id };
      }),
    );
  }

  /** This data plane lost its connection; the session is detached (its grace period starts) when none is left. */
  async leaveSession(sessionId: string, dataplaneId: string, now: Date): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      await tx.agentSessionDataplane.deleteMany({ where: { sessionId, dataplaneId } });
      await this.detachOrphans(tx, now, sessionId);
    });
  }

  /**
   * A heartbeat listing the sessions a data plane holds: those holds are confirmed; holds it no longer lists (and
   * that were not confirmed in the last few seconds) are dropped.
   */
  async refreshFromHeartbeat(dataplaneId: string, sessionIds: readonly string[], now: Date): Promise<void> {
    // One array parameter, not one bind parameter per id: a heartbeat may list up to 100,000 sessions, more than
    // Postgres accepts as separate parameters.
    const ids = [...sessionIds];
    const omittedBefore = new Date(now.getTime() - HEARTBEAT_OMISSION_MARGIN_MS);
    await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`
        UPDATE agent_session_dataplanes SET last_seen_at = ${now}
        WHERE dataplane_id = ${dataplaneId} AND session_id = ANY(${ids}::text[])`;
      await tx.$executeRaw`
        DELETE FROM agent_session_dataplanes
        WHERE dataplane_id = ${dataplaneId} AND NOT (session_id = ANY(${ids}::text[])) AND last_seen_at < ${omittedBefore}`;
      await tx.$executeRaw`
        UPDATE agent_sessions SET last_seen_at = ${now} WHERE id = ANY(${ids}::text[]) AND ended_at IS NULL`;
      await this.detachOrphans(tx, now);
    });
  }

  /** Of `sessionIds`, those that are not live sessions (ended, or never known): their connections must close. */
  async findNotLive(sessionIds: readonly string[]): Promise<string[]> {
    if (sessionIds.length === 0) return [];
    const ids = [...sessionIds];
    const live = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM agent_sessions WHERE id = ANY(${ids}::text[]) AND ended_at IS NULL`;
    const liveIds = new Set(live.map((row) => row.id));
    return ids.filter((id) => !liveIds.has(id));
  }

  /**
   * The periodic sweep's first half: drops holds of data planes silent for AGENT_DATAPLANE_EXPIRY_MS, marks sessions
   * left with none as detached, and returns the sessions detached for longer than `graceMs` (to be ended).
   */
  async expireAndFindEndable(now: Date, graceMs: number): Promise<string[]> {
    await this.prisma.$transaction(async (tx) => {
      await tx.agentSessionDataplane.deleteMany({
        where: { lastSeenAt: { lt: new Date(now.getTime() - AGENT_DATAPLANE_EXPIRY_MS) } },
      });
      await this.detachOrphans(tx, now);
    });
    const rows = await this.prisma.agentSession.findMany({
      where: { endedAt: null, detachedAt: { lte: new Date(now.getTime() - graceMs) } },
      select: { id: true },
      orderBy: { id: 'asc' },
    });
    return rows.map((row) => row.id);
  }

  /** Ends a session still detached since before `detachedBefore` (a reconnect in the meantime keeps it). */
  endDetachedSession(sessionId: string, detachedBefore: Date, now: Date): Promise<boolean> {
    return withRetry(3, () =>
      this.prisma.$transaction(async (tx) => {
        const [row] = await tx.$queryRaw<{ detached_at: Date | null; ended_at: Date | null; authtoken_id: string }[]>`
          SELECT detached_at, ended_at, authtoken_id FROM agent_sessions WHERE id = ${sessionId} FOR UPDATE`;
        if (!row || row.ended_at !== null || row.detached_at === null || row.detached_at > detachedBefore) return false;
        const token = await tx.authtoken.findUniqueOrThrow({ where: { id: row.authtoken_id } });
        await this.endSessionInTransaction(tx, authtokenContext(token, null), sessionId, 'no-dataplane', now);
        return true;
      }),
    );
  }

  /** Ends every live session of a token, inside the transaction that revokes it. Returns their ids. */
  async endSessionsOfAuthtoken(
    tx: TransactionClient,
    context: RequestContext,
    authtokenId: string,
    now: Date,
  ): Promise<string[]> {
    const live = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM agent_sessions WHERE authtoken_id = ${authtokenId} AND ended_at IS NULL ORDER BY id FOR UPDATE`;
    for (const { id } of live) await this.endSessionInTransaction(tx, context, id, 'authtoken-revoked', now);
    return live.map((row) => row.id);
  }

  async findSession(id: string): Promise<SessionWithDetails | null> {
    return this.prisma.agentSession.findUnique({ where: { id }, include: sessionDetails });
  }

  listSessions(filters: {
    live?: boolean;
    authtokenId?: string;
    beforeId?: string;
    limit: number;
  }): Promise<SessionWithDetails[]> {
    return this.prisma.agentSession.findMany({
      where: {
        ...(filters.live === undefined ? {} : { endedAt: filters.live ? null : { not: null } }),
        ...(filters.authtokenId === undefined ? {} : { authtokenId: filters.authtokenId }),
        ...(filters.beforeId === undefined ? {} : { id: { lt: filters.beforeId } }),
      },
      orderBy: { id: 'desc' },
      take: filters.limit + 1,
      include: sessionDetails,
    });
  }

  /** Every data plane that heartbeated within the last minute and reported where it takes traffic. */
  async listLiveDataplanes(now: Date): Promise<AgentDataplane[]> {
    const rows = await this.prisma.dataplane.findMany({
      where: { lastHeartbeatAt: { gte: new Date(now.getTime() - LIVE_DATAPLANE_WINDOW_MS) } },
      orderBy: { id: 'asc' },
    });
    return rows.flatMap((row) => {
      const traffic = DataplaneTrafficSchema.safeParse(row.traffic);
      return traffic.success ? [{ id: row.id, url: trafficUrl(traffic.data, row.hostname) }] : [];
    });
  }

  private async createAgentEndpoint(
    tx: TransactionClient,
    context: RequestContext,
    sessionId: string,
    claim: EndpointClaim,
    now: Date,
  ): Promise<ClaimResult> {
    const id = newId('ep');
    const { address } = claim;
    await tx.endpoint.create({
      data: {
        id,
        url: address.url,
        type: 'agent',
        proto: address.proto,
        host: address.host,
        port: address.port,
        description: claim.description,
        metadata: claim.metadata,
        upstreamUrl: null,
        activePolicyVersion: claim.policy ? 1 : null,
      },
    });
    if (claim.policy) {
      await tx.policyVersion.create({
        data: {
          endpointId: id,
          version: 1,
          source: claim.policy.source,
          sha256: claim.policy.sha256,
          message: `declared by agent session ${sessionId}`,
          createdBy: null,
        },
      });
    }
    await tx.agentEndpointMember.create({
      data: {
        endpointId: id,
        sessionId,
        upstream: claim.upstream,
        upstreamProtocol: claim.upstreamProtocol,
        poolingEnabled: claim.poolingEnabled,
        joinedAt: now,
      },
    });
    const created = await this.loadEndpoint(tx, id);
    await this.auditEvents.insertAuditEvent(tx, context, {
      kind: 'agent_endpoint.created',
      entityId: id,
      before: null,
      after: { ...auditViewOfEndpoint(created), session_id: sessionId },
    });
    await this.appendEndpointChange(tx, created);
    return { status: 'online', endpointId: id };
  }

  /**
   * Ends a live session: its holds and memberships go, endpoints left without a member are deleted, the rest are
   * republished with their remaining members, and `agent_session.ended` tells every data plane to close it.
   */
  private async endSessionInTransaction(
    tx: TransactionClient,
    context: RequestContext,
    sessionId: string,
    reason: EndReason,
    now: Date,
  ): Promise<void> {
    const before = await this.loadSession(tx, sessionId);
    const endpointIds = before.memberships.map((member) => member.endpointId).sort();
    if (endpointIds.length > 0) {
      await tx.$queryRaw`SELECT id FROM endpoints WHERE id = ANY(${endpointIds}) ORDER BY id FOR UPDATE`;
    }
    await tx.agentEndpointMember.deleteMany({ where: { sessionId } });
    await tx.agentSessionDataplane.deleteMany({ where: { sessionId } });
    await tx.agentSession.update({
      where: { id: sessionId },
      data: { endedAt: now, endReason: reason, liveSessionKey: null },
    });
    for (const endpointId of endpointIds) {
      const endpoint = await this.loadEndpoint(tx, endpointId);
      if (endpoint.agentMembers.length > 0) {
        await this.appendEndpointChange(tx, endpoint);
        continue;
      }
      await tx.endpoint.delete({ where: { id: endpointId } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'agent_endpoint.removed',
        entityId: endpointId,
        before: { ...auditViewOfEndpoint(endpoint), session_id: sessionId },
        after: null,
      });
      await this.outbox.appendConfigChange(tx, {
        kind: 'endpoint.deleted',
        entityId: endpointId,
        payload: { endpoint: null, ip_category: null },
      });
    }
    await this.auditEvents.insertAuditEvent(tx, context, {
      kind: 'agent_session.ended',
      entityId: sessionId,
      before: presentAgentSession(before),
      after: presentAgentSession(await this.loadSession(tx, sessionId)),
    });
    await this.outbox.appendConfigChange(tx, {
      kind: 'agent_session.ended',
      entityId: sessionId,
      payload: { endpoint: null, ip_category: null },
    });
  }

  /**
   * Whether every session holding a non-pooled endpoint is detached (no data plane holds it) and authenticated by the
   * claimant's own authtoken: then the claimant is the same agent restarted, not a second agent, and may take over.
   * Another token's offline session keeps its URL until the grace period ends, so a URL never changes owner by race.
   */
  private async holdersAreRestartedSelf(
    tx: TransactionClient,
    sessionId: string,
    members: readonly { sessionId: string }[],
  ): Promise<boolean> {
    const claimant = await tx.agentSession.findUniqueOrThrow({
      where: { id: sessionId },
      select: { authtokenId: true },
    });
    const holders = await tx.agentSession.findMany({
      where: { id: { in: members.map((member) => member.sessionId) } },
      select: { authtokenId: true, detachedAt: true, endedAt: true },
    });
    return (
      holders.length > 0 &&
      holders.every(
        (holder) =>
          holder.endedAt === null && holder.detachedAt !== null && holder.authtokenId === claimant.authtokenId,
      )
    );
  }

  /** Live sessions with no data plane left and no detach time yet start their grace period now. */
  private async detachOrphans(tx: TransactionClient, now: Date, sessionId?: string): Promise<void> {
    await tx.agentSession.updateMany({
      where: { endedAt: null, detachedAt: null, dataplanes: { none: {} }, ...(sessionId ? { id: sessionId } : {}) },
      data: { detachedAt: now },
    });
  }

  private async loadSession(tx: TransactionClient, id: string): Promise<SessionWithDetails> {
    return tx.agentSession.findUniqueOrThrow({ where: { id }, include: sessionDetails });
  }

  private async loadEndpoint(tx: TransactionClient, id: string): Promise<EndpointWithPolicy> {
    return toEndpointWithPolicy(await tx.endpoint.findUniqueOrThrow({ where: { id }, include: withEndpointDetails }));
  }

  private async appendEndpointChange(tx: TransactionClient, endpoint: EndpointWithPolicy): Promise<void> {
    await this.outbox.appendConfigChange(tx, {
      kind: 'endpoint.upserted',
      entityId: endpoint.id,
      payload: { endpoint: toSyncEndpoint(endpoint, endpoint.activePolicy), ip_category: null },
    });
  }
}

/** The audit actor of an agent session: its authtoken, from the agent's address when known. */
export function authtokenContext(token: Authtoken, remoteAddress: string | null): RequestContext {
  const name = token.description === '' ? `${token.prefix}…` : `${token.prefix}… (${token.description})`;
  return { actor: { type: 'authtoken', id: token.id, name }, ip: remoteAddress, requestId: null };
}

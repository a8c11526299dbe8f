import type { PolicyTestCase, PolicyTestReport } from '@gatehouse/contracts';
import { Injectable } from '@nestjs/common';
import { AuditEventsRepository } from '../audit-events/audit-events.repository';
import type { RequestContext } from '../auth/actor';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { newId } from '../common/ids';
import { ConfigOutboxRepository } from '../config-publisher/config-outbox.repository';
import { PrismaService, type TransactionClient } from '../database/prisma.service';
import { toSyncEndpoint } from '../dataplane-sync/sync-presenter';
import { Prisma, type PolicyVersion } from '../generated/prisma/client';
import { endpointMembers } from '../agent-sessions/agent-sessions.presenter';
import { auditViewOfEndpoint, type EndpointWithPolicy, presentPolicyVersion } from './endpoints.presenter';

export interface EndpointFields {
  url: string;
  type: 'cloud' | 'internal';
  proto: 'http' | 'https';
  host: string;
  port: number;
  description: string;
  metadata: string;
  upstreamUrl: string | null;
  upstreamHostHeader: 'preserve' | 'rewrite';
  requestLogCaptureHeaders: boolean;
  requestLogCaptureBodies: boolean;
}

export type EndpointChanges = Partial<Omit<EndpointFields, 'type' | 'proto'>>;

export interface NewPolicyVersion {
  source: string;
  sha256: string;
  message: string;
  createdBy: string;
  restoredFrom?: number;
  /** Policy test cases and their report at save (issue 17). */
  tests?: PolicyTestCase[];
  testResult?: PolicyTestReport | null;
}

export interface EndpointFilters {
  type?: 'cloud' | 'internal' | 'agent';
  url?: string;
  beforeId?: string;
  limit: number;
}

const noShadowPolicy = {
  shadowPolicySource: null,
  shadowPolicySha256: null,
  shadowPolicyMessage: null,
  shadowPolicyCreatedAt: null,
} as const;

const withActivePolicy = {
  policyVersions: { orderBy: { version: 'desc' }, take: 1 },
  agentMembers: endpointMembers,
} as const;

function toEndpointWithPolicy(
  row: Prisma.EndpointGetPayload<{ include: typeof withActivePolicy }>,
): EndpointWithPolicy {
  const { policyVersions, ...endpoint } = row;
  return { ...endpoint, activePolicy: policyVersions[0] ?? null };
}

/** Agent endpoints change only through their sessions: the agent's config is the source of truth. */
export function assertNotAgentOwned(
  endpoint: EndpointWithPolicy,
): asserts endpoint is EndpointWithPolicy & { type: 'cloud' | 'internal' } {
  if (endpoint.type !== 'agent') return;
  const sessions = endpoint.agentMembers.map((member) => member.sessionId).join(', ');
  throw new AppError(
    ErrorCode.ENDPOINT_OWNED_BY_AGENT,
    `${endpoint.url} is declared by agent session ${sessions || '(ending)'}; change the agent's config instead`,
  );
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

/**
 * Endpoints and their append-only policy versions. Every write is one transaction that also records the audit event
 * and appends the config change (outbox) describing the endpoint's new state.
 */
@Injectable()
export class EndpointsRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly auditEvents: AuditEventsRepository,
    private readonly outbox: ConfigOutboxRepository,
  ) {}

  async findEndpointById(id: string): Promise<EndpointWithPolicy | null> {
    const row = await this.prisma.endpoint.findUnique({ where: { id }, include: withActivePolicy });
    return row ? toEndpointWithPolicy(row) : null;
  }

  async findEndpointByUrl(url: string): Promise<EndpointWithPolicy | null> {
    const row = await this.prisma.endpoint.findUnique({ where: { url }, include: withActivePolicy });
    return row ? toEndpointWithPolicy(row) : null;
  }

  /** Newest first, `limit + 1` rows so the caller can tell whether another page exists. */
  async listEndpoints(filters: EndpointFilters): Promise<EndpointWithPolicy[]> {
    const rows = await this.prisma.endpoint.findMany({
      where: {
        ...(filters.type ? { type: filters.type } : {}),
        ...(filters.url ? { url: filters.url } : {}),
        ...(filters.beforeId ? { id: { lt: filters.beforeId } } : {}),
      },
      orderBy: { id: 'desc' },
      take: filters.limit + 1,
      include: withActivePolicy,
    });
    return rows.map(toEndpointWithPolicy);
  }

  async createEndpoint(
    context: RequestContext,
    fields: EndpointFields,
    policy: NewPolicyVersion | null,
  ): Promise<EndpointWithPolicy> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        if (await tx.endpoint.findUnique({ where: { url: fields.url }, select: { id: true } })) {
          throw new AppError(ErrorCode.ENDPOINT_URL_TAKEN, `An endpoint with URL ${fields.url} already exists`);
        }
        const id = newId('ep');
        await tx.endpoint.create({ data: { id, ...fields, activePolicyVersion: policy ? 1 : null } });
        if (policy) await this.insertPolicyVersion(tx, id, 1, policy);
        const created = await this.loadForUpdate(tx, id);
        await this.auditEvents.insertAuditEvent(tx, context, {
          kind: 'endpoint.created',
          entityId: id,
          before: null,
          after: auditViewOfEndpoint(created),
        });
        if (created.activePolicy) await this.auditVersion(tx, context, created.activePolicy, 'policy.version_created');
        await this.appendEndpointChange(tx, created);
        return created;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AppError(ErrorCode.ENDPOINT_URL_TAKEN, `An endpoint with URL ${fields.url} already exists`);
      }
      throw error;
    }
  }

  /** Applies field changes and, when given, appends a policy version and activates it — atomically. */
  async updateEndpoint(
    context: RequestContext,
    id: string,
    changes: EndpointChanges,
    policy: NewPolicyVersion | null,
  ): Promise<EndpointWithPolicy> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const before = await this.loadForUpdate(tx, id);
        if (changes.url && changes.url !== before.url) {
          if (await tx.endpoint.findUnique({ where: { url: changes.url }, select: { id: true } })) {
            throw new AppError(ErrorCode.ENDPOINT_URL_TAKEN, `An endpoint with URL ${changes.url} already exists`);
          }
        }
        const nextVersion = (before.activePolicy?.version ?? 0) + 1;
        if (policy) await this.insertPolicyVersion(tx, id, nextVersion, policy);
        await tx.endpoint.update({
          where: { id },
          data: { ...changes, ...(policy ? { activePolicyVersion: nextVersion } : {}) },
        });
        const after = await this.loadForUpdate(tx, id);
        await this.auditEvents.insertAuditEvent(tx, context, {
          kind: 'endpoint.updated',
          entityId: id,
          before: auditViewOfEndpoint(before),
          after: auditViewOfEndpoint(after),
        });
        if (policy && after.activePolicy) {
          await this.auditVersion(tx, context, after.activePolicy, 'policy.version_created');
        }
        await this.appendEndpointChange(tx, after);
        return after;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw this.uniqueViolationOnUpdate(changes);
      throw error;
    }
  }

  /**
   * Appends a policy version (a new text, or a copy of an older version when restoring) and activates it. With
   * `promoteShadow` (the shadow's sha256) the version is the endpoint's shadow policy, which is cleared in the same
   * transaction; a shadow replaced or discarded since the caller read it is 409 SHADOW_POLICY_CHANGED.
   */
  async appendPolicyVersion(
    context: RequestContext,
    id: string,
    policy: NewPolicyVersion,
    options: { promoteShadow?: string } = {},
  ): Promise<{ endpoint: EndpointWithPolicy; version: PolicyVersion }> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const before = await this.loadForUpdate(tx, id);
        if (options.promoteShadow !== undefined && before.shadowPolicySha256 !== options.promoteShadow) {
          throw new AppError(
            ErrorCode.SHADOW_POLICY_CHANGED,
            'The shadow policy was replaced or discarded meanwhile; reload it and promote again',
          );
        }
        const nextVersion = (before.activePolicy?.version ?? 0) + 1;
        const version = await this.insertPolicyVersion(tx, id, nextVersion, policy);
        await tx.endpoint.update({
          where: { id },
          data: {
            activePolicyVersion: nextVersion,
            ...(options.promoteShadow === undefined ? {} : noShadowPolicy),
          },
        });
        const after = await this.loadForUpdate(tx, id);
        await this.auditVersion(
          tx,
          context,
          version,
          policy.restoredFrom === undefined ? 'policy.version_created' : 'policy.restored',
          before.activePolicy,
        );
        await this.appendEndpointChange(tx, after);
        return { endpoint: after, version };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw this.uniqueViolationOnUpdate({});
      throw error;
    }
  }

  /**
   * Sets (or, with null, discards) the endpoint's shadow policy and publishes the endpoint, so data planes start or
   * stop evaluating it. Audited as policy.shadow_published / policy.shadow_discarded.
   */
  async setShadowPolicy(
    context: RequestContext,
    id: string,
    shadow: { source: string; sha256: string; message: string } | null,
  ): Promise<EndpointWithPolicy> {
    return this.prisma.$transaction(async (tx) => {
      const before = await this.loadForUpdate(tx, id);
      assertNotAgentOwned(before);
      if (shadow === null && before.shadowPolicySha256 === null)
        throw new AppError(ErrorCode.SHADOW_POLICY_NOT_FOUND, `Endpoint ${id} has no shadow policy`);
      await tx.endpoint.update({
        where: { id },
        data:
          shadow === null
            ? noShadowPolicy
            : {
                shadowPolicySource: shadow.source,
                shadowPolicySha256: shadow.sha256,
                shadowPolicyMessage: shadow.message,
                shadowPolicyCreatedAt: new Date(),
              },
      });
      const after = await this.loadForUpdate(tx, id);
      const view = (endpoint: EndpointWithPolicy) =>
        endpoint.shadowPolicySha256 === null
          ? null
          : { sha256: endpoint.shadowPolicySha256, message: endpoint.shadowPolicyMessage ?? '' };
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: shadow === null ? 'policy.shadow_discarded' : 'policy.shadow_published',
        entityId: id,
        before: view(before),
        after: view(after),
      });
      await this.appendEndpointChange(tx, after);
      return after;
    });
  }

  async deleteEndpoint(context: RequestContext, id: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const before = await this.loadForUpdate(tx, id);
      assertNotAgentOwned(before);
      await tx.endpoint.delete({ where: { id } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'endpoint.deleted',
        entityId: id,
        before: auditViewOfEndpoint(before),
        after: null,
      });
      await this.outbox.appendConfigChange(tx, {
        kind: 'endpoint.deleted',
        entityId: id,
        payload: { endpoint: null, ip_category: null },
      });
    });
  }

  listPolicyVersions(endpointId: string, limit: number, beforeVersion?: number): Promise<PolicyVersion[]> {
    return this.prisma.policyVersion.findMany({
      where: { endpointId, ...(beforeVersion ? { version: { lt: beforeVersion } } : {}) },
      orderBy: { version: 'desc' },
      take: limit + 1,
    });
  }

  findPolicyVersion(endpointId: string, version: number): Promise<PolicyVersion | null> {
    return this.prisma.policyVersion.findUnique({ where: { endpointId_version: { endpointId, version } } });
  }

  /**
   * Locks the endpoint row for the rest of the transaction: concurrent saves to one endpoint queue here, so each
   * computes its version number from the committed latest one. The (endpoint_id, version) primary key backs this up.
   */
  private async loadForUpdate(tx: TransactionClient, id: string): Promise<EndpointWithPolicy> {
    const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM endpoints WHERE id = ${id} FOR UPDATE`;
    if (locked.length === 0) throw new AppError(ErrorCode.ENDPOINT_NOT_FOUND, `No endpoint ${id}`);
    const row = await tx.endpoint.findUniqueOrThrow({ where: { id }, include: withActivePolicy });
    return toEndpointWithPolicy(row);
  }

  private insertPolicyVersion(
    tx: TransactionClient,
    endpointId: string,
    version: number,
    policy: NewPolicyVersion,
  ): Promise<PolicyVersion> {
    return tx.policyVersion.create({
      data: {
        endpointId,
        version,
        source: policy.source,
        sha256: policy.sha256,
        message: policy.message,
        createdBy: policy.createdBy,
        restoredFrom: policy.restoredFrom ?? null,
        tests: policy.tests ?? [],
        testResult:
          policy.testResult === undefined || policy.testResult === null
            ? Prisma.DbNull
            : (policy.testResult as Prisma.InputJsonValue),
      },
    });
  }

  private async auditVersion(
    tx: TransactionClient,
    context: RequestContext,
    version: PolicyVersion,
    kind: 'policy.version_created' | 'policy.restored',
    previous?: PolicyVersion | null,
  ): Promise<void> {
    await this.auditEvents.insertAuditEvent(tx, context, {
      kind,
      entityId: version.endpointId,
      before: previous ? presentPolicyVersion(previous, null) : null,
      after: presentPolicyVersion(version, version.version),
    });
  }

  private async appendEndpointChange(tx: TransactionClient, endpoint: EndpointWithPolicy): Promise<void> {
    await this.outbox.appendConfigChange(tx, {
      kind: 'endpoint.upserted',
      entityId: endpoint.id,
      payload: { endpoint: toSyncEndpoint(endpoint, endpoint.activePolicy), ip_category: null },
    });
  }

  private uniqueViolationOnUpdate(changes: EndpointChanges): AppError {
    return changes.url
      ? new AppError(ErrorCode.ENDPOINT_URL_TAKEN, `An endpoint with URL ${changes.url} already exists`)
      : new AppError(ErrorCode.POLICY_VERSION_CONFLICT, 'Another save took this version number; retry');
  }
}

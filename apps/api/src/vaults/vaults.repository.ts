import { Injectable } from '@nestjs/common';
import { policyOptionsFor, type SyncEndpoint } from '@gatehouse/contracts';
import { AuditEventsRepository } from '../audit-events/audit-events.repository';
import type { RequestContext } from '../auth/actor';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { ConfigOutboxRepository } from '../config-publisher/config-outbox.repository';
import { PrismaService, type TransactionClient } from '../database/prisma.service';
import { toSyncEndpoint } from '../dataplane-sync/sync-presenter';
import type { Secret, Vault } from '../generated/prisma/client';
import { policySecretReferences } from '../traffic-policy/policy-engine';
import type { SealedSecret } from './secrets-cipher';

/** An endpoint whose active policy names secrets, and which. */
export interface SecretUser {
  id: string;
  url: string;
  secrets: { vault: string; name: string }[];
}

export type VaultWithSecrets = Vault & { secrets: Secret[] };

/** Who did it, as stored on the row (the audit log has the full actor). */
function actorName(context: RequestContext): string {
  return context.actor.name;
}

function presentSecretForAudit(secret: Secret): { [key: string]: string } {
  // Never the value, nor its ciphertext: the audit log says what changed, not what it is.
  return {
    vault: secret.vaultName,
    name: secret.name,
    description: secret.description,
    key_id: secret.keyId,
    updated_at: secret.updatedAt.toISOString(),
  };
}

/**
 * Vaults and their sealed secrets. A rotation commits, in one transaction, the new ciphertext, the audit event
 * ("secret rotated", no value) and an `endpoint.upserted` change for every endpoint whose active policy names the
 * secret: data planes fetch those endpoints again and get the new value with them.
 */
@Injectable()
export class VaultsRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly auditEvents: AuditEventsRepository,
    private readonly outbox: ConfigOutboxRepository,
  ) {}

  listVaults(): Promise<VaultWithSecrets[]> {
    return this.prisma.vault.findMany({ orderBy: { name: 'asc' }, include: { secrets: { orderBy: { name: 'asc' } } } });
  }

  findVault(name: string): Promise<VaultWithSecrets | null> {
    return this.prisma.vault.findUnique({ where: { name }, include: { secrets: { orderBy: { name: 'asc' } } } });
  }

  findSecrets(pairs: readonly { vault: string; name: string }[]): Promise<Secret[]> {
    if (pairs.length === 0) return Promise.resolve([]);
    return this.prisma.secret.findMany({
      where: { OR: pairs.map(({ vault, name }) => ({ vaultName: vault, name })) },
    });
  }

  async createVault(context: RequestContext, name: string, description: string): Promise<VaultWithSecrets> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.vault.createMany({
        data: [{ name, description, createdBy: actorName(context) }],
        skipDuplicates: true,
      });
      if (count === 0) throw new AppError(ErrorCode.VAULT_EXISTS, `A vault named ${name} already exists`);
      const vault = await tx.vault.findUniqueOrThrow({ where: { name }, include: { secrets: true } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'vault.created',
        entityId: name,
        before: null,
        after: { name, description },
      });
      return vault;
    });
  }

  /** Deletes the vault and its secrets, unless an active policy names any of them (VAULT_IN_USE with the endpoints). */
  async deleteVault(context: RequestContext, name: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const vault = await tx.vault.findUnique({ where: { name }, include: { secrets: true } });
      if (!vault) throw new AppError(ErrorCode.VAULT_NOT_FOUND, `No vault ${name}`);
      const users = (await this.findSecretUsers(tx)).filter((user) => user.secrets.some((s) => s.vault === name));
      if (users.length > 0) throw inUse(ErrorCode.VAULT_IN_USE, `Vault ${name}`, users);
      await tx.secret.deleteMany({ where: { vaultName: name } });
      await tx.vault.delete({ where: { name } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'vault.deleted',
        entityId: name,
        before: { name, description: vault.description, secrets: vault.secrets.map((secret) => secret.name) },
        after: null,
      });
    });
  }

  /** Creates or rotates a secret; returns it and whether it was created. */
  async putSecret(
    context: RequestContext,
    vault: string,
    name: string,
    sealed: SealedSecret,
    description: string,
  ): Promise<{ secret: Secret; created: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ name: string }[]>`SELECT name FROM vaults WHERE name = ${vault} FOR UPDATE`;
      if (locked.length === 0) throw new AppError(ErrorCode.VAULT_NOT_FOUND, `No vault ${vault}; create it first`);
      const before = await tx.secret.findUnique({ where: { vaultName_name: { vaultName: vault, name } } });
      const fields = {
        keyId: sealed.keyId,
        nonce: Buffer.from(sealed.nonce),
        ciphertext: Buffer.from(sealed.ciphertext),
        description,
        updatedBy: actorName(context),
      };
      const secret = await tx.secret.upsert({
        where: { vaultName_name: { vaultName: vault, name } },
        create: { vaultName: vault, name, createdBy: actorName(context), ...fields },
        update: fields,
      });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: before ? 'secret.rotated' : 'secret.created',
        entityId: `${vault}/${name}`,
        before: before ? presentSecretForAudit(before) : null,
        after: presentSecretForAudit(secret),
      });
      if (before) {
        // Rotation: every endpoint naming the secret is published again; data planes re-fetch it with the new value.
        const users = (await this.findSecretUsers(tx)).filter((user) =>
          user.secrets.some((s) => s.vault === vault && s.name === name),
        );
        await this.republishEndpoints(
          tx,
          users.map((user) => user.id),
        );
      }
      return { secret, created: before === null };
    });
  }

  async deleteSecret(context: RequestContext, vault: string, name: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const before = await tx.secret.findUnique({ where: { vaultName_name: { vaultName: vault, name } } });
      if (!before) throw new AppError(ErrorCode.SECRET_NOT_FOUND, `No secret ${name} in vault ${vault}`);
      const users = (await this.findSecretUsers(tx)).filter((user) =>
        user.secrets.some((s) => s.vault === vault && s.name === name),
      );
      if (users.length > 0) throw inUse(ErrorCode.SECRET_IN_USE, `Secret ${vault}/${name}`, users);
      await tx.secret.delete({ where: { vaultName_name: { vaultName: vault, name } } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'secret.deleted',
        entityId: `${vault}/${name}`,
        before: presentSecretForAudit(before),
        after: null,
      });
    });
  }

  /** Endpoints whose active policy names at least one secret. */
  /** Active policies that name `vault/name`, with their text and how they are compiled (for a rotation check). */
  async findSecretUserPolicies(
    vault: string,
    name: string,
  ): Promise<
    {
      id: string;
      url: string;
      endpointType: 'cloud' | 'internal';
      acceptsConnections: boolean;
      source: string;
      secrets: { vault: string; name: string }[];
    }[]
  > {
    const rows = await this.prisma.$queryRaw<{ id: string; url: string; type: SyncEndpoint['type']; source: string }[]>`
      SELECT e.id, e.url, e.type, pv.source
        FROM endpoints e
        JOIN policy_versions pv ON pv.endpoint_id = e.id AND pv.version = e.active_policy_version
       WHERE pv.source LIKE '%secrets%'
       ORDER BY e.url`;
    return rows
      .map((row) => {
        const rules = policyOptionsFor(row.type, row.url);
        return { ...row, ...rules, secrets: policySecretReferences(row.source, rules) };
      })
      .filter((user) => user.secrets.some((secret) => secret.vault === vault && secret.name === name));
  }

  async findSecretUsers(tx: TransactionClient | PrismaService = this.prisma): Promise<SecretUser[]> {
    const rows = await tx.$queryRaw<{ id: string; url: string; type: SyncEndpoint['type']; source: string }[]>`
      SELECT e.id, e.url, e.type, pv.source
        FROM endpoints e
        JOIN policy_versions pv ON pv.endpoint_id = e.id AND pv.version = e.active_policy_version
       WHERE pv.source LIKE '%secrets%'
       ORDER BY e.url`;
    return rows
      .map((row) => ({
        id: row.id,
        url: row.url,
        secrets: policySecretReferences(row.source, policyOptionsFor(row.type, row.url)),
      }))
      .filter((user) => user.secrets.length > 0);
  }

  private async republishEndpoints(tx: TransactionClient, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const endpoints = await tx.endpoint.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
    for (const endpoint of endpoints) {
      const active =
        endpoint.activePolicyVersion === null
          ? null
          : await tx.policyVersion.findUnique({
              where: { endpointId_version: { endpointId: endpoint.id, version: endpoint.activePolicyVersion } },
            });
      await this.outbox.appendConfigChange(tx, {
        kind: 'endpoint.upserted',
        entityId: endpoint.id,
        payload: { endpoint: toSyncEndpoint(endpoint, active), ip_category: null },
      });
    }
  }
}

function inUse(code: ErrorCode, what: string, users: SecretUser[]): AppError {
  const list = users.map((user) => user.url);
  return new AppError(
    code,
    `${what} is used by the active policy of ${users.length} endpoint${users.length === 1 ? '' : 's'} (${list.slice(0, 5).join(', ')}${list.length > 5 ? ', …' : ''}); change those policies first`,
    users.map((user) => ({ code: 'ENDPOINT_USES_SECRET', message: `${user.url} (${user.id})`, path: user.id })),
  );
}

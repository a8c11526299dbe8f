import { type Role, roleAllows } from '../auth/actor';
import type { ApiKey } from '../generated/prisma/client';
import type { ApiKeyResponse } from './api-keys.dto';

/** A key with its owner's current role (null when it has no owner). */
export type ApiKeyWithOwner = ApiKey & { createdBy: { role: Role; email: string } | null };

/**
 * The role a key acts with: its own, capped at its owner's current role, so demoting a user demotes every key they
 * made at once (and promoting them back restores it, never beyond the key's own role).
 */
export function effectiveApiKeyRole(keyRole: Role, ownerRole: Role | null): Role {
  return ownerRole === null || roleAllows(ownerRole, keyRole) ? keyRole : ownerRole;
}

export function presentApiKey(key: ApiKeyWithOwner): ApiKeyResponse {
  return {
    id: key.id,
    uri: `/api/api-keys/${key.id}`,
    description: key.description,
    prefix: key.prefix,
    role: key.role,
    effective_role: effectiveApiKeyRole(key.role, key.createdBy?.role ?? null),
    created_by: key.createdById,
    created_by_email: key.createdBy?.email ?? null,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    created_at: key.createdAt.toISOString(),
  };
}

import type { ApiKey } from '../generated/prisma/client';
import type { ApiKeyResponse } from './api-keys.dto';

export function presentApiKey(key: ApiKey): ApiKeyResponse {
  return {
    id: key.id,
    uri: `/api/api-keys/${key.id}`,
    description: key.description,
    prefix: key.prefix,
    role: key.role,
    created_by: key.createdById,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    created_at: key.createdAt.toISOString(),
  };
}

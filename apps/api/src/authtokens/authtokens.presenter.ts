import type { Authtoken } from '../generated/prisma/client';
import type { AuthtokenResponse } from './authtokens.dto';

export function presentAuthtoken(token: Authtoken): AuthtokenResponse {
  return {
    id: token.id,
    uri: `/api/authtokens/${token.id}`,
    description: token.description,
    prefix: token.prefix,
    url_patterns: token.urlPatterns,
    created_by: token.createdById,
    last_used_at: token.lastUsedAt?.toISOString() ?? null,
    revoked_at: token.revokedAt?.toISOString() ?? null,
    created_at: token.createdAt.toISOString(),
  };
}

import type { User } from '../generated/prisma/client';
import type { UserResponse } from './users.dto';

export function presentUser(user: User): UserResponse {
  return {
    id: user.id,
    uri: `/api/users/${user.id}`,
    email: user.email,
    role: user.role,
    last_login_at: user.lastLoginAt?.toISOString() ?? null,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

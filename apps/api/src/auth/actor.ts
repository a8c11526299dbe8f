import type { Request } from 'express';
import { z } from 'zod';

export const RoleSchema = z.enum(['admin', 'editor', 'viewer']);
export type Role = z.infer<typeof RoleSchema>;

const ROLE_RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/** Viewers read; editors also change endpoints, policies and categories; admins also manage users and keys. */
export function roleAllows(held: Role, required: Role): boolean {
  return ROLE_RANK[held] >= ROLE_RANK[required];
}

/** Who is making a request. */
export type Actor =
  | { type: 'user'; id: string; name: string; role: Role; sessionId: string }
  | { type: 'api_key'; id: string; name: string; role: Role };

/** Who did something, for audit events (includes the system itself, e.g. the boot-time admin bootstrap). */
export interface AuditActor {
  /** `authtoken`: an agent session, acting with the authtoken it connected with. */
  type: 'user' | 'api_key' | 'system' | 'authtoken';
  id: string | null;
  name: string;
}

/** What every mutating service call receives: the actor and where the request came from. */
export interface RequestContext {
  actor: AuditActor;
  ip: string | null;
  requestId: string | null;
}

export const SYSTEM_CONTEXT: RequestContext = {
  actor: { type: 'system', id: null, name: 'system' },
  ip: null,
  requestId: null,
};

export type AuthenticatedRequest = Request & { actor?: Actor; id?: unknown };

export function requestContextOf(request: AuthenticatedRequest): RequestContext {
  const actor = request.actor;
  return {
    actor: actor ? { type: actor.type, id: actor.id, name: actor.name } : SYSTEM_CONTEXT.actor,
    ip: request.ip ?? null,
    requestId: typeof request.id === 'string' ? request.id : null,
  };
}

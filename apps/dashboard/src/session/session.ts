import { createContext, useContext } from 'react';
import type { CurrentActor, Role } from '../api/auth.api';

const roleRank: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

export function hasRole(actor: Pick<CurrentActor, 'role'>, needed: Role): boolean {
  return roleRank[actor.role] >= roleRank[needed];
}

/**
 * The signed-in actor, provided by the session gate. A context rather than the query itself: when a session ends,
 * the gate swaps the page for a redirect, and pages still on screen for that render keep the actor they had.
 */
export const CurrentActorContext = createContext<CurrentActor | null>(null);

/** The signed-in actor. Only used below the session gate, which guarantees one exists. */
export function useCurrentActor(): CurrentActor {
  const actor = useContext(CurrentActorContext);
  if (!actor) throw new Error('useCurrentActor is used outside the session gate');
  return actor;
}

/** What the signed-in user may do: viewers read, editors change endpoints/policies/categories, admins everything. */
export function usePermissions(): { canEdit: boolean; isAdmin: boolean } {
  const actor = useCurrentActor();
  return { canEdit: hasRole(actor, 'editor'), isAdmin: hasRole(actor, 'admin') };
}

import { Outlet } from 'react-router';
import type { Role } from '../api/auth.api';
import { EmptyState } from '../components/query-states';
import { hasRole, useCurrentActor } from './session';

/** Pages only some roles may open; the API refuses the others anyway, this says so politely. */
export function RequireRole({ role }: { role: Role }) {
  const actor = useCurrentActor();
  if (!hasRole(actor, role)) {
    return (
      <EmptyState title="Not available to your role">
        This page is for {role}s. Ask an administrator if you need it.
      </EmptyState>
    );
  }
  return <Outlet />;
}

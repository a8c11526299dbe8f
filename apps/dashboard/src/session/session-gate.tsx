import { Center } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Navigate, Outlet, useLocation } from 'react-router';
import { authQueries } from '../api/auth.api';
import { ErrorState, LoadingState } from '../components/query-states';
import { paths } from '../paths';
import { CurrentActorContext } from './session';

/**
 * Everything behind sign-in renders inside this gate. First run (no user yet) goes to setup; no session goes to
 * sign-in, which brings the user back here afterwards.
 */
export function SessionGate() {
  const location = useLocation();
  const setupStatus = useQuery(authQueries.setupStatus());
  const me = useQuery(authQueries.me());

  if (setupStatus.isPending || me.isPending) return <LoadingState label="Loading Gatehouse…" />;
  if (setupStatus.isError || me.isError) {
    return (
      <Center p="xl">
        <ErrorState
          title="Gatehouse is not answering"
          error={setupStatus.error ?? me.error}
          onRetry={() => {
            void setupStatus.refetch();
            void me.refetch();
          }}
        />
      </Center>
    );
  }
  if (setupStatus.data.setup_required) return <Navigate to={paths.setup} replace />;
  if (!me.data) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`${paths.signIn}?next=${encodeURIComponent(next)}`} replace />;
  }
  return (
    <CurrentActorContext value={me.data}>
      <Outlet />
    </CurrentActorContext>
  );
}

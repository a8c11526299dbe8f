import { infiniteQueryOptions } from '@tanstack/react-query';
import { cursorOf, unwrap, type components } from '@gatehouse/api-client';
import { agentSessionKeys } from './query-keys';
import { apiClient } from './request-client';

export type AgentSession = components['schemas']['AgentSession'];

/** Sessions change on their own (agents connect and drop), so the list refreshes while it is open. */
const AGENT_SESSIONS_REFRESH_MS = 10_000;

export const agentSessionQueries = {
  list: () =>
    infiniteQueryOptions({
      queryKey: agentSessionKeys.list(),
      queryFn: ({ pageParam }) =>
        unwrap(
          apiClient.GET('/api/agent-sessions', {
            params: { query: { limit: 50, ...(pageParam ? { before_id: pageParam } : {}) } },
          }),
        ),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: (lastPage) => cursorOf(lastPage.next_page_uri),
      // Live first (newest first within each group): ended sessions are history.
      select: (data) => {
        const sessions = data.pages.flatMap((page) => page.agent_sessions);
        return [
          ...sessions.filter((session) => session.status !== 'ended'),
          ...sessions.filter((session) => session.status === 'ended'),
        ];
      },
      refetchInterval: AGENT_SESSIONS_REFRESH_MS,
    }),
};

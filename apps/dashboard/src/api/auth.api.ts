import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { ApiError, unwrap, type components } from '@gatehouse/api-client';
import { authKeys } from './query-keys';
import { apiClient } from './request-client';

export type CurrentActor = components['schemas']['Me'];
export type Role = CurrentActor['role'];
export type SignInBody = components['schemas']['LoginBody'];

export const authQueries = {
  /** The signed-in user, or null when there is no valid session (a 401 is an answer here, not an error). */
  me: () =>
    queryOptions({
      queryKey: authKeys.me(),
      queryFn: async (): Promise<CurrentActor | null> => {
        try {
          return await unwrap(apiClient.GET('/api/auth/me'));
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) return null;
          throw error;
        }
      },
      staleTime: 60_000,
      retry: false,
    }),
  setupStatus: () =>
    queryOptions({
      queryKey: authKeys.setupStatus(),
      queryFn: () => unwrap(apiClient.GET('/api/auth/setup')),
      staleTime: Infinity,
      retry: false,
    }),
};

export function useSignInMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: SignInBody) => unwrap(apiClient.POST('/api/auth/login', { body })),
    onSuccess: async () => {
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== authKeys.all[0] });
      await queryClient.invalidateQueries({ queryKey: authKeys.me() });
    },
  });
}

export function useFirstRunSetupMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: SignInBody) => unwrap(apiClient.POST('/api/auth/setup', { body })),
    onSuccess: async () => {
      queryClient.setQueryData(authKeys.setupStatus(), { setup_required: false });
      await queryClient.invalidateQueries({ queryKey: authKeys.me() });
    },
  });
}

export function useSignOutMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(apiClient.POST('/api/auth/logout')),
    // Stop the signed-in user's reads first: one still in flight when the session ends would come back 401.
    onMutate: () => queryClient.cancelQueries({ predicate: (query) => query.queryKey[0] !== authKeys.all[0] }),
    onSettled: () => {
      // Forget everything the previous user could see, then show the sign-in page.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== authKeys.all[0] });
      queryClient.setQueryData(authKeys.me(), null);
    },
  });
}

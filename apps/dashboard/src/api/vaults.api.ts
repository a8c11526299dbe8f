import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { unwrap, type components } from '@gatehouse/api-client';
import { vaultKeys } from './query-keys';
import { apiClient } from './request-client';

export type Vault = components['schemas']['Vault'];
export type Secret = components['schemas']['Secret'];

export const vaultQueries = {
  list: () =>
    queryOptions({
      queryKey: vaultKeys.list(),
      queryFn: () => unwrap(apiClient.GET('/api/vaults')),
      select: (data) => data.vaults,
    }),
};

function useVaultMutation<Input>(run: (input: Input) => Promise<unknown>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: vaultKeys.all }),
  });
}

export const useCreateVaultMutation = () =>
  useVaultMutation((body: { name: string; description: string }) => unwrap(apiClient.POST('/api/vaults', { body })));

export const useDeleteVaultMutation = () =>
  useVaultMutation((vault: string) => unwrap(apiClient.DELETE('/api/vaults/{vault}', { params: { path: { vault } } })));

/** Creates or rotates; the value goes to the API once and is never read back. */
export const usePutSecretMutation = () =>
  useVaultMutation((input: { vault: string; name: string; value: string; description: string }) =>
    unwrap(
      apiClient.PUT('/api/vaults/{vault}/secrets/{name}', {
        params: { path: { vault: input.vault, name: input.name } },
        body: { value: input.value, description: input.description },
      }),
    ),
  );

export const useDeleteSecretMutation = () =>
  useVaultMutation((input: { vault: string; name: string }) =>
    unwrap(apiClient.DELETE('/api/vaults/{vault}/secrets/{name}', { params: { path: input } })),
  );

import { z } from 'zod';

/** Vault and secret names: letters, digits, `_` and `-`, starting with a letter or digit, at most 64 characters. */
export const VaultNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, "_" and "-", starting with a letter or digit, ≤ 64');
export const SecretNameSchema = VaultNameSchema;

export const CreateVaultBodySchema = z
  .strictObject({ name: VaultNameSchema, description: z.string().max(255).default('') })
  .meta({ id: 'CreateVaultBody' });
export type CreateVaultInput = z.output<typeof CreateVaultBodySchema>;

export const PutSecretBodySchema = z
  .strictObject({
    /** Write-only: never returned, never logged, never in audit events. */
    value: z.string().min(1, 'a secret value cannot be empty').max(16_384),
    description: z.string().max(255).default(''),
  })
  .meta({ id: 'PutSecretBody' });
export type PutSecretInput = z.output<typeof PutSecretBodySchema>;

export const SecretResponseSchema = z
  .object({
    vault: z.string(),
    name: z.string(),
    uri: z.string(),
    description: z.string(),
    /** Id of the GATEHOUSE_SECRETS_KEY the value is sealed under. */
    key_id: z.string(),
    created_by: z.string(),
    updated_by: z.string(),
    created_at: z.iso.datetime({ offset: true }),
    updated_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Secret' });
export type SecretResponse = z.infer<typeof SecretResponseSchema>;

export const SecretListResponseSchema = z
  .object({ secrets: z.array(SecretResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'SecretList' });
export type SecretListResponse = z.infer<typeof SecretListResponseSchema>;

export const VaultResponseSchema = z
  .object({
    name: z.string(),
    uri: z.string(),
    description: z.string(),
    created_by: z.string(),
    created_at: z.iso.datetime({ offset: true }),
    updated_at: z.iso.datetime({ offset: true }),
    /** Names and metadata only; values are write-only. */
    secrets: z.array(SecretResponseSchema),
  })
  .meta({ id: 'Vault' });
export type VaultResponse = z.infer<typeof VaultResponseSchema>;

export const VaultListResponseSchema = z
  .object({ vaults: z.array(VaultResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'VaultList' });
export type VaultListResponse = z.infer<typeof VaultListResponseSchema>;

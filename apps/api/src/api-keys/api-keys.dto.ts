import { z } from 'zod';
import { RoleSchema } from '../auth/actor';
import { PageQuerySchema } from '../common/pagination';

export const CreateApiKeyBodySchema = z
  .strictObject({
    // A key nobody can name is a key nobody dares revoke: the description is required (400 VALIDATION_FAILED).
    description: z
      .string()
      .trim()
      .min(1, 'Describe what uses this key, e.g. "CI deploy job".')
      .max(255)
      .meta({ description: 'What uses this key; required, shown in the key list and the audit log.' }),
    role: RoleSchema.default('editor'),
  })
  .meta({ id: 'CreateApiKeyBody' });
export type CreateApiKeyBody = z.input<typeof CreateApiKeyBodySchema>;
export type CreateApiKeyInput = z.output<typeof CreateApiKeyBodySchema>;

export const ListApiKeysQuerySchema = PageQuerySchema;

export const ApiKeyResponseSchema = z
  .object({
    id: z.string(),
    uri: z.string(),
    description: z.string(),
    /** The visible start of the secret, e.g. `gh_3kq8v2mx`. */
    prefix: z.string(),
    role: RoleSchema,
    effective_role: RoleSchema.meta({
      description:
        "The role the key acts with now: `role`, capped at its owner's current role (a demoted owner's keys are demoted with them; a deleted owner's keys are revoked).",
    }),
    created_by: z.string().nullable().meta({ description: 'The user who owns the key (null for keys without one)' }),
    created_by_email: z
      .string()
      .nullable()
      .meta({ description: "The owner's email, for display (null when the key has no owner)" }),
    last_used_at: z.iso.datetime({ offset: true }).nullable(),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'ApiKey' });
export type ApiKeyResponse = z.infer<typeof ApiKeyResponseSchema>;

export const CreatedApiKeyResponseSchema = ApiKeyResponseSchema.extend({
  /** The full secret. Shown once: only its SHA-256 is stored. Send it as `Authorization: Bearer <secret>`. */
  secret: z.string(),
}).meta({ id: 'CreatedApiKey' });
export type CreatedApiKeyResponse = z.infer<typeof CreatedApiKeyResponseSchema>;

export const ApiKeyListResponseSchema = z
  .object({ api_keys: z.array(ApiKeyResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'ApiKeyList' });
export type ApiKeyListResponse = z.infer<typeof ApiKeyListResponseSchema>;

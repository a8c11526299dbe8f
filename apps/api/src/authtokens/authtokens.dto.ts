import { authtokenUrlPatternProblem, maxAuthtokenUrlPatterns } from '@gatehouse/contracts';
import { z } from 'zod';
import { PageQuerySchema } from '../common/pagination';

const UrlPatternSchema = z
  .string()
  .trim()
  .min(1)
  .superRefine((pattern, context) => {
    const problem = authtokenUrlPatternProblem(pattern);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  });

export const CreateAuthtokenBodySchema = z
  .strictObject({
    description: z
      .string()
      .trim()
      .min(1, 'say what the token is for (which agent or machine), so it can be found and revoked later')
      .max(255),
    url_patterns: z.array(UrlPatternSchema).max(maxAuthtokenUrlPatterns).default([]).meta({
      description:
        'Hosts the token may claim endpoints under: exact (`mcp.example.internal`) or `*.` + suffix (`*.team-a.internal`). Empty: any.',
    }),
  })
  .meta({ id: 'CreateAuthtokenBody' });
export type CreateAuthtokenBody = z.input<typeof CreateAuthtokenBodySchema>;
export type CreateAuthtokenInput = z.output<typeof CreateAuthtokenBodySchema>;

export const ListAuthtokensQuerySchema = PageQuerySchema.extend({
  revoked: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: 'true: only revoked tokens; false: only active ones; absent: both' }),
});
export type ListAuthtokensQuery = z.output<typeof ListAuthtokensQuerySchema>;

export const AuthtokenResponseSchema = z
  .object({
    id: z.string(),
    uri: z.string(),
    description: z.string(),
    /** The visible start of the secret, e.g. `gat_3kq8v2mx`. */
    prefix: z.string(),
    url_patterns: z.array(z.string()),
    created_by: z.string().nullable().meta({ description: 'The user who created the token (null once deleted)' }),
    last_used_at: z.iso.datetime({ offset: true }).nullable(),
    revoked_at: z.iso
      .datetime({ offset: true })
      .nullable()
      .meta({ description: 'When it was revoked; agents presenting it are refused with AUTHTOKEN_REVOKED' }),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Authtoken' });
export type AuthtokenResponse = z.infer<typeof AuthtokenResponseSchema>;

export const CreatedAuthtokenResponseSchema = AuthtokenResponseSchema.extend({
  /** The full secret. Shown once: only its SHA-256 is stored. Give it to gatehouse-agent (`agent.authtoken`). */
  secret: z.string(),
}).meta({ id: 'CreatedAuthtoken' });
export type CreatedAuthtokenResponse = z.infer<typeof CreatedAuthtokenResponseSchema>;

export const AuthtokenListResponseSchema = z
  .object({ authtokens: z.array(AuthtokenResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'AuthtokenList' });
export type AuthtokenListResponse = z.infer<typeof AuthtokenListResponseSchema>;

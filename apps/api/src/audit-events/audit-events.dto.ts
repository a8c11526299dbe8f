import { z } from 'zod';
import { PageQuerySchema } from '../common/pagination';

export const ListAuditEventsQuerySchema = PageQuerySchema.extend({
  actor: z.string().max(255).optional().meta({ description: 'User id/email or API key id/prefix' }),
  kind: z.string().max(100).optional(),
  entity_id: z.string().max(255).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /** Alias of before_id, the name DESIGN.md §5 uses for this route. */
  before: z.string().max(64).optional(),
});
export type ListAuditEventsQuery = z.output<typeof ListAuditEventsQuerySchema>;

export const AuditEventResponseSchema = z
  .object({
    id: z.string(),
    uri: z.string(),
    actor: z.object({
      type: z.enum(['user', 'api_key', 'system', 'authtoken']),
      id: z.string().nullable(),
      name: z.string(),
    }),
    kind: z.string().meta({ description: 'e.g. endpoint.created, policy.version_created, policy.restored' }),
    entity_id: z.string().nullable(),
    entity_label: z.string().nullable().meta({
      description:
        'What entity_id names, for display: the endpoint URL, the user email, the API key prefix and description, the IP category name (from the current row, or the recorded snapshot once deleted)',
    }),
    before: z.unknown().nullable(),
    after: z.unknown().nullable(),
    ip: z.string().nullable(),
    request_id: z.string().nullable(),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'AuditEvent' });
export type AuditEventResponse = z.infer<typeof AuditEventResponseSchema>;

export const AuditEventListResponseSchema = z
  .object({ audit_events: z.array(AuditEventResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'AuditEventList' });
export type AuditEventListResponse = z.infer<typeof AuditEventListResponseSchema>;

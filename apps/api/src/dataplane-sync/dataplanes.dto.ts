import { z } from 'zod';

export const DataplaneResponseSchema = z
  .object({
    id: z.string(),
    hostname: z.string(),
    version: z.string(),
    applied_revision: z.number().int(),
    /** Latest revision minus applied revision. */
    lag: z.number().int(),
    last_error: z.string().nullable(),
    /** online: heartbeat within 3 intervals; stale otherwise. */
    status: z.enum(['online', 'stale']),
    last_heartbeat_at: z.iso.datetime({ offset: true }),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Dataplane' });
export type DataplaneResponse = z.infer<typeof DataplaneResponseSchema>;

export const DataplaneListResponseSchema = z
  .object({ dataplanes: z.array(DataplaneResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'DataplaneList' });
export type DataplaneListResponse = z.infer<typeof DataplaneListResponseSchema>;

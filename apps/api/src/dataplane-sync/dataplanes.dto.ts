import { DataplaneRequestEventsSchema } from '@gatehouse/contracts';
import { z } from 'zod';

/** Where a data plane takes traffic, as its last heartbeat reported it. */
export const DataplaneTrafficResponseSchema = z
  .object({
    scheme: z.enum(['http', 'https']),
    /** The interface the traffic port binds to (0.0.0.0: every interface). */
    host: z.string(),
    port: z.number().int(),
    /** DATAPLANE_PUBLIC_URL (a load balancer's address), or null. */
    public_url: z.string().nullable(),
    /** The address to send traffic to: public_url, else scheme://host:port with the host name for a wildcard bind. */
    url: z.string(),
  })
  .meta({ id: 'DataplaneTrafficAddress' });
export type DataplaneTrafficResponse = z.infer<typeof DataplaneTrafficResponseSchema>;

export const DataplaneResponseSchema = z
  .object({
    id: z.string(),
    hostname: z.string(),
    version: z.string(),
    applied_revision: z.number().int(),
    /** Latest revision minus applied revision. */
    lag: z.number().int(),
    last_error: z.string().nullable(),
    /** Null when the data plane did not report it (versions before the field, or a heartbeat before listening). */
    traffic: DataplaneTrafficResponseSchema.nullable(),
    /**
     * How its request events are getting into the request-log queue, as its last heartbeat reported them: null when it
     * has no queue (embedded shape) or predates the field.
     */
    request_events: DataplaneRequestEventsSchema.nullable(),
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

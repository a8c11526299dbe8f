import { z } from 'zod';

/**
 * The config propagation protocol (DESIGN.md §6) between the control plane and the data planes. Both sides parse
 * with these schemas, so a change to the wire format is a compile error on both ends, not a surprise in production.
 */

/** Redis pub/sub channel carrying one ConfigChange per committed change. */
export const configChannel = 'gatehouse:config';
/** Header a data plane sends with its shared secret on every sync call. */
export const dataplaneTokenHeader = 'x-gatehouse-dataplane-token';

export const endpointTypeSchema = z.enum(['cloud', 'internal']);

/** An endpoint as a data plane needs it: routing facts plus the active policy's source text. */
export const syncedEndpointSchema = z.object({
  id: z.string().describe('Endpoint id (ep_…).'),
  url: z.string().describe('Normalized URL: scheme://host[:port].'),
  type: endpointTypeSchema,
  host: z.string().describe('Lower-case host, without port; may start with "*." for wildcard cloud endpoints.'),
  upstream_url: z.string().nullable().describe('Internal endpoints: where traffic goes after the policy.'),
  upstream_host_header: z.enum(['preserve', 'rewrite']).describe('Internal endpoints: keep the client Host or use the upstream host.'),
  policy_version: z.int().nullable().describe('Active policy version number, null when the endpoint has no policy.'),
  traffic_policy: z.string().nullable().describe('Active policy source text (YAML or JSON), null when none.'),
  updated_at: z.string().describe('RFC 3339.'),
});

export const syncedIpCategorySchema = z.object({
  name: z.string(),
  cidrs: z.array(z.string()),
});

export const configSnapshotSchema = z.object({
  revision: z.int().min(0).describe('The newest ConfigChange revision included.'),
  generated_at: z.string(),
  endpoints: z.array(syncedEndpointSchema),
  ip_categories: z.array(syncedIpCategorySchema),
});

export const configChangeKindSchema = z.enum(['endpoint.upserted', 'endpoint.deleted', 'ip_category.upserted', 'ip_category.deleted']);

/** One committed change; carries the new state so the data plane needs no extra round trip. */
export const configChangeSchema = z.object({
  revision: z.int().min(1),
  kind: configChangeKindSchema,
  entity_id: z.string().describe('Endpoint id, or IP category name.'),
  endpoint: syncedEndpointSchema.nullable().optional().describe('The endpoint after the change (endpoint.upserted).'),
  ip_category: syncedIpCategorySchema.nullable().optional().describe('The category after the change (ip_category.upserted).'),
});

/** `GET /api/dataplane/config/changes?since=REV` — 410 when `since` is older than the retained outbox. */
export const configChangesResponseSchema = z.object({
  revision: z.int().min(0).describe('The newest revision on the control plane.'),
  changes: z.array(configChangeSchema).describe('Every change with revision > since, in order.'),
});

export const heartbeatRequestSchema = z.object({
  id: z.string().min(1).max(128).describe('Stable id of the data plane process.'),
  hostname: z.string().max(255),
  version: z.string().max(64),
  applied_revision: z.int().min(0),
  endpoint_count: z.int().min(0),
  last_error: z.string().max(2000).nullable().describe('The latest config change that failed to apply, if any.'),
});

export const heartbeatResponseSchema = z.object({
  revision: z.int().min(0).describe('The newest revision; a data plane behind it catches up.'),
});

export type SyncedEndpoint = z.infer<typeof syncedEndpointSchema>;
export type SyncedIpCategory = z.infer<typeof syncedIpCategorySchema>;
export type ConfigSnapshot = z.infer<typeof configSnapshotSchema>;
export type ConfigChange = z.infer<typeof configChangeSchema>;
export type ConfigChangesResponse = z.infer<typeof configChangesResponseSchema>;
export type HeartbeatRequest = z.infer<typeof heartbeatRequestSchema>;
export type HeartbeatResponse = z.infer<typeof heartbeatResponseSchema>;

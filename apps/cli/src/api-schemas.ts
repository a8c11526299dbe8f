// The API responses the CLI reads, as zod schemas written against apps/api/openapi.json. They are deliberately not
// strict: a field the API adds later must not break an installed CLI, but a field the CLI relies on that is missing or
// of the wrong type fails loudly instead of printing `undefined`.
import { z } from 'zod';

export const RoleSchema = z.enum(['admin', 'editor', 'viewer']);
export type Role = z.infer<typeof RoleSchema>;

export const EndpointTypeSchema = z.enum(['cloud', 'internal']);
export type EndpointType = z.infer<typeof EndpointTypeSchema>;

export const UpstreamHostHeaderSchema = z.enum(['preserve', 'rewrite']);
export type UpstreamHostHeader = z.infer<typeof UpstreamHostHeaderSchema>;

export const ErrorBodySchema = z.object({
  error_code: z.string(),
  message: z.string(),
  details: z
    .array(
      z.object({
        code: z.string().optional(),
        message: z.string(),
        path: z.string().optional(),
        line: z.number().optional(),
        column: z.number().optional(),
      }),
    )
    .default([]),
  request_id: z.string().optional(),
});

export const PolicyIssueSchema = z.object({
  code: z.string(),
  message: z.string(),
  path: z.string(),
  line: z.number(),
  column: z.number(),
  severity: z.enum(['error', 'warning']),
});
export type ApiPolicyIssue = z.infer<typeof PolicyIssueSchema>;

/** What data planes copy into the request log for an endpoint (cloud endpoints only; the API refuses it elsewhere). */
export const RequestLogCaptureSchema = z.object({ headers: z.boolean(), bodies: z.boolean() });
export type RequestLogCapture = z.infer<typeof RequestLogCaptureSchema>;

/** A capture setting with only the options to set; what a request leaves out keeps its value (or defaults to off). */
export type RequestLogCapturePatch = Partial<RequestLogCapture>;

export const EndpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  type: EndpointTypeSchema,
  description: z.string(),
  metadata: z.string(),
  upstream_url: z.string().nullable(),
  upstream_host_header: UpstreamHostHeaderSchema,
  // Required, not defaulted: plan and export read it, and a default would make them report `off` for an endpoint
  // whose real setting they never saw.
  request_log_capture: RequestLogCaptureSchema,
  traffic_policy: z.string().nullable(),
  policy_version: z.number().int().nullable(),
  policy_warnings: z.array(PolicyIssueSchema).optional(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Endpoint = z.infer<typeof EndpointSchema>;

export const PolicyVersionSchema = z.object({
  endpoint_id: z.string(),
  version: z.number().int().min(1),
  traffic_policy: z.string(),
  sha256: z.string(),
  message: z.string(),
  created_by: z.string(),
  restored_from: z.number().int().nullable(),
  active: z.boolean(),
  policy_warnings: z.array(PolicyIssueSchema).optional(),
  created_at: z.string(),
});
export type PolicyVersion = z.infer<typeof PolicyVersionSchema>;

export const IpCategorySchema = z.object({
  name: z.string(),
  cidrs: z.array(z.string()),
  description: z.string(),
  builtin: z.boolean(),
});
export type IpCategory = z.infer<typeof IpCategorySchema>;

export const UserSchema = z.object({ id: z.string(), email: z.string(), role: RoleSchema });

export const MeSchema = z.object({
  type: z.enum(['user', 'api_key']),
  id: z.string(),
  name: z.string(),
  role: RoleSchema,
  user: UserSchema.nullable(),
});
export type Me = z.infer<typeof MeSchema>;

export const SessionSchema = z.object({ user: UserSchema });

export const CreatedApiKeySchema = z.object({
  id: z.string(),
  prefix: z.string(),
  role: RoleSchema,
  secret: z.string(),
});

export const HealthSchema = z.object({ status: z.enum(['ok', 'error']) });

/** Body of POST /api/endpoints (CreateEndpointBody). */
export interface CreateEndpointBody {
  url: string;
  type: EndpointType;
  description?: string;
  metadata?: string;
  traffic_policy?: string;
  upstream_url?: string;
  upstream_host_header?: UpstreamHostHeader;
  request_log_capture?: RequestLogCapturePatch;
  policy_message?: string;
}

/** Body of PATCH /api/endpoints/{id} (UpdateEndpointBody); `traffic_policy` appends a version. */
export type UpdateEndpointBody = Omit<CreateEndpointBody, 'url' | 'type'>;

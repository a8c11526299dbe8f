import {
  allEndpointTypes,
  PolicyTestCasesSchema,
  policyVersionMax,
  PolicyTestReportSchema,
  RequestLogCaptureSchema,
} from '@gatehouse/contracts';
import { EndpointAgentResponseSchema } from '../agent-sessions/agent-sessions.dto';
import { z } from 'zod';
import { PageQuerySchema } from '../common/pagination';
import { EndpointTypeSchema, PolicyIssueSchema, TrafficPolicyTextSchema } from '../traffic-policy/traffic-policy.dto';

export const MAX_URL_LENGTH = 2048;

const UrlTextSchema = z.string().min(1).max(MAX_URL_LENGTH);
export const UpstreamHostHeaderSchema = z.enum(['preserve', 'rewrite']);

const captureDescription =
  'What data planes copy into the request log for requests this endpoint receives. `headers`: request and response ' +
  'header values; `bodies`: the first 8 KiB of UTF-8 text bodies. Authorization, Proxy-Authorization, Cookie and ' +
  'Set-Cookie are always removed. Cloud endpoints only (internal ones answer 400 ENDPOINT_CAPTURE_UNSUPPORTED). ' +
  'Changing it creates no policy version.';

/** On create, an omitted option captures nothing. */
const CreateRequestLogCaptureSchema = z
  .strictObject({ headers: z.boolean().default(false), bodies: z.boolean().default(false) })
  .default({ headers: false, bodies: false })
  .meta({ description: captureDescription });

/** On update, an omitted option keeps its current value. */
const UpdateRequestLogCaptureSchema = z
  .strictObject({ headers: z.boolean().optional(), bodies: z.boolean().optional() })
  .optional()
  .meta({ description: `${captureDescription} Options left out keep their current value.` });

const testsDescription =
  'Policy test cases stored with the new version and run at save (a failing case answers 422 POLICY_TESTS_FAILED). ' +
  "Omitted: the active version's cases carry over; [] removes them.";
const PolicyTestsField = PolicyTestCasesSchema.optional().meta({ description: testsDescription });
const AllowFailingTestsField = z
  .boolean()
  .default(false)
  .meta({ description: 'Save even when policy tests fail; the version records the failing result' });

export const CreateEndpointBodySchema = z
  .strictObject({
    url: UrlTextSchema.meta({
      description:
        'http(s)://host[:port]. Cloud hosts never end in .internal; internal hosts must. A leading `*.` makes a wildcard cloud host.',
      example: 'https://mcp.example.com',
    }),
    type: EndpointTypeSchema.default('cloud'),
    description: z.string().max(255).default(''),
    metadata: z.string().max(4096).default('').meta({ description: 'Free text for automation, up to 4096 characters' }),
    traffic_policy: TrafficPolicyTextSchema.optional().meta({
      description: 'Required and non-empty for cloud endpoints; optional for internal ones',
    }),
    upstream_url: UrlTextSchema.nullable()
      .optional()
      .meta({ description: 'Internal endpoints only (required there): the private http(s) upstream' }),
    upstream_host_header: UpstreamHostHeaderSchema.default('preserve'),
    request_log_capture: CreateRequestLogCaptureSchema,
    policy_message: z.string().max(1024).default('').meta({ description: 'Message recorded on the policy version' }),
    policy_tests: PolicyTestsField,
    allow_failing_tests: AllowFailingTestsField,
  })
  .meta({ id: 'CreateEndpointBody' });
export type CreateEndpointBody = z.input<typeof CreateEndpointBodySchema>;
export type CreateEndpointInput = z.output<typeof CreateEndpointBodySchema>;

export const UpdateEndpointBodySchema = z
  .strictObject({
    url: UrlTextSchema.optional().meta({ description: 'The scheme (http/https) cannot change' }),
    description: z.string().max(255).optional(),
    metadata: z.string().max(4096).optional(),
    traffic_policy: TrafficPolicyTextSchema.optional().meta({
      description: 'Appends a policy version and activates it',
    }),
    upstream_url: UrlTextSchema.nullable().optional(),
    upstream_host_header: UpstreamHostHeaderSchema.optional(),
    request_log_capture: UpdateRequestLogCaptureSchema,
    policy_message: z.string().max(1024).default(''),
    policy_tests: PolicyTestsField.meta({
      description: `${testsDescription} Given without traffic_policy, appends a version of the active text with these cases.`,
    }),
    allow_failing_tests: AllowFailingTestsField,
  })
  .meta({ id: 'UpdateEndpointBody' });
export type UpdateEndpointBody = z.input<typeof UpdateEndpointBodySchema>;
export type UpdateEndpointInput = z.output<typeof UpdateEndpointBodySchema>;

/** Every type an endpoint can have, as listed and read (`agent` endpoints are created by agent sessions only). */
const AnyEndpointTypeSchema = z.enum(allEndpointTypes);

export const ListEndpointsQuerySchema = PageQuerySchema.extend({
  type: AnyEndpointTypeSchema.optional(),
  url: z.string().max(MAX_URL_LENGTH).optional(),
});
export type ListEndpointsQuery = z.output<typeof ListEndpointsQuerySchema>;

const Timestamp = z.iso.datetime({ offset: true });

export const ShadowPolicyResponseSchema = z
  .object({
    traffic_policy: z.string(),
    sha256: z.string(),
    message: z.string(),
    created_at: Timestamp,
  })
  .meta({ id: 'ShadowPolicy' });

export const EndpointResponseSchema = z
  .object({
    id: z.string().meta({ example: 'ep_01jq8x3m6r2v9c4k7t5w0y1z3b' }),
    uri: z.string(),
    url: z.string(),
    type: AnyEndpointTypeSchema,
    proto: z.enum(['http', 'https']),
    host: z.string(),
    port: z.number().int(),
    description: z.string(),
    metadata: z.string(),
    upstream_url: z.string().nullable(),
    upstream_host_header: UpstreamHostHeaderSchema,
    request_log_capture: RequestLogCaptureSchema,
    /** The active policy text, exactly as submitted; null when an internal endpoint has none. */
    traffic_policy: z.string().nullable(),
    policy_version: z.number().int().nullable(),
    /** For `type: agent`: the sessions serving it; null for every other type. */
    agent: EndpointAgentResponseSchema.nullable(),
    /**
     * The shadow policy data planes evaluate beside the active one without enforcing it (issue 17); null when none.
     * Always present in answers (optional only so older clients' fixtures still parse).
     */
    shadow_policy: ShadowPolicyResponseSchema.nullable().optional(),
    /** Warnings from validating the policy saved by this request (create/update only). */
    policy_warnings: z.array(PolicyIssueSchema).optional(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Endpoint' });
export type EndpointResponse = z.infer<typeof EndpointResponseSchema>;

export const EndpointListResponseSchema = z
  .object({ endpoints: z.array(EndpointResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'EndpointList' });
export type EndpointListResponse = z.infer<typeof EndpointListResponseSchema>;

export const CreatePolicyVersionBodySchema = z
  .strictObject({
    traffic_policy: TrafficPolicyTextSchema,
    message: z.string().max(1024).default(''),
    tests: PolicyTestsField,
    allow_failing_tests: AllowFailingTestsField,
  })
  .meta({ id: 'CreatePolicyVersionBody' });
export type CreatePolicyVersionBody = z.input<typeof CreatePolicyVersionBodySchema>;
export type CreatePolicyVersionInput = z.output<typeof CreatePolicyVersionBodySchema>;

export const RestorePolicyVersionBodySchema = z
  .strictObject({
    message: z.string().max(1024).optional(),
    allow_failing_tests: z.boolean().optional().meta({
      description: "The active version's test cases run against the restored text; true saves even when they fail",
    }),
  })
  .meta({ id: 'RestorePolicyVersionBody' })
  .default({});
export type RestorePolicyVersionBody = z.input<typeof RestorePolicyVersionBodySchema>;
export type RestorePolicyVersionInput = z.output<typeof RestorePolicyVersionBodySchema>;

export const PublishShadowPolicyBodySchema = z
  .strictObject({
    traffic_policy: TrafficPolicyTextSchema.optional().meta({ description: 'A policy text to evaluate as shadow' }),
    from_version: z
      .number()
      .int()
      .min(1)
      .max(policyVersionMax)
      .optional()
      .meta({ description: 'Or: an existing version to evaluate as shadow' }),
    message: z.string().max(1024).default(''),
  })
  .refine((body) => (body.traffic_policy === undefined) !== (body.from_version === undefined), {
    message: 'give exactly one of traffic_policy and from_version',
    path: ['traffic_policy'],
  })
  .meta({ id: 'PublishShadowPolicyBody' });
export type PublishShadowPolicyBody = z.input<typeof PublishShadowPolicyBodySchema>;
export type PublishShadowPolicyInput = z.output<typeof PublishShadowPolicyBodySchema>;

export const PromoteShadowPolicyBodySchema = z
  .strictObject({
    sha256: z.string().length(64).meta({
      description: 'The shadow being promoted (as read): a shadow replaced meanwhile answers 409 SHADOW_POLICY_CHANGED',
    }),
    message: z.string().max(1024).optional(),
    allow_failing_tests: AllowFailingTestsField,
  })
  .meta({ id: 'PromoteShadowPolicyBody' });
export type PromoteShadowPolicyBody = z.input<typeof PromoteShadowPolicyBodySchema>;
export type PromoteShadowPolicyInput = z.output<typeof PromoteShadowPolicyBodySchema>;

export const PolicyVersionResponseSchema = z
  .object({
    endpoint_id: z.string(),
    version: z.number().int().min(1),
    uri: z.string(),
    traffic_policy: z.string(),
    sha256: z.string(),
    message: z.string(),
    /** Null for versions an agent session declared (the message names the session). */
    created_by: z.string().nullable(),
    /** Set when this version was created by restoring an older one. */
    restored_from: z.number().int().nullable(),
    active: z.boolean(),
    policy_warnings: z.array(PolicyIssueSchema).optional(),
    tests: PolicyTestCasesSchema.meta({ description: 'The test cases stored with this version' }),
    test_result: PolicyTestReportSchema.nullable().meta({
      description: "The cases' result when this version was saved; null when it has none",
    }),
    created_at: Timestamp,
  })
  .meta({ id: 'PolicyVersion' });
export type PolicyVersionResponse = z.infer<typeof PolicyVersionResponseSchema>;

export const PolicyVersionListResponseSchema = z
  .object({ versions: z.array(PolicyVersionResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'PolicyVersionList' });
export type PolicyVersionListResponse = z.infer<typeof PolicyVersionListResponseSchema>;

export const ListPolicyVersionsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before_version: z.coerce.number().int().min(1).optional(),
});
export type ListPolicyVersionsQuery = z.output<typeof ListPolicyVersionsQuerySchema>;

export const PolicyVersionParamSchema = z.coerce.number().int().min(1).max(2_147_483_647);

import { endpointTypes, PolicyIssueSchema } from '@gatehouse/contracts';
import { z } from 'zod';

/** Upper bound on stored policy text; the engine applies its own, finer limits. */
export const MAX_POLICY_LENGTH = 256 * 1024;

export const TrafficPolicyTextSchema = z
  .string()
  .max(MAX_POLICY_LENGTH)
  .meta({
    description:
      'A Traffic Policy document as YAML or JSON text, stored exactly as submitted. The parsed document must match ' +
      'the TrafficPolicyDocument schema (x-policy-document-schema).',
    'x-policy-document-schema': { $ref: '#/components/schemas/TrafficPolicyDocument' },
  });

export const EndpointTypeSchema = z.enum(endpointTypes);

export const ValidatePolicyBodySchema = z
  .strictObject({
    traffic_policy: TrafficPolicyTextSchema,
    endpoint_type: EndpointTypeSchema.default('cloud'),
  })
  .meta({ id: 'ValidatePolicyBody' });
export type ValidatePolicyBody = z.input<typeof ValidatePolicyBodySchema>;
export type ValidatePolicyInput = z.output<typeof ValidatePolicyBodySchema>;

export { PolicyIssueSchema } from '@gatehouse/contracts';

export const ValidatePolicyResponseSchema = z
  .object({ valid: z.boolean(), errors: z.array(PolicyIssueSchema), warnings: z.array(PolicyIssueSchema) })
  .meta({ id: 'ValidatePolicyResult' });
export type ValidatePolicyResponse = z.infer<typeof ValidatePolicyResponseSchema>;

import { z } from 'zod';
import { isCidrOrAddress } from '../traffic-policy/policy-engine';

export const IpCategoryNameSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$/,
    'lower-case letters, digits, ".", "_" and "-", e.g. com.example.office',
  );

export const PutIpCategoryBodySchema = z
  .strictObject({
    cidrs: z.array(z.string().trim().refine(isCidrOrAddress, 'must be an IPv4 or IPv6 CIDR or address')).max(10_000),
    description: z.string().max(255).default(''),
  })
  .meta({ id: 'PutIpCategoryBody' });
export type PutIpCategoryBody = z.input<typeof PutIpCategoryBodySchema>;

/** POST creates only: the name travels in the body and a taken name is a 409, never a replacement. */
export const CreateIpCategoryBodySchema = PutIpCategoryBodySchema.extend({ name: IpCategoryNameSchema }).meta({
  id: 'CreateIpCategoryBody',
});
export type CreateIpCategoryBody = z.input<typeof CreateIpCategoryBodySchema>;
export type CreateIpCategoryInput = z.output<typeof CreateIpCategoryBodySchema>;
export type PutIpCategoryInput = z.output<typeof PutIpCategoryBodySchema>;

export const IpCategoryResponseSchema = z
  .object({
    name: z.string(),
    uri: z.string(),
    cidrs: z.array(z.string()),
    description: z.string(),
    /** Built-ins ship with Gatehouse (published ranges) and are read-only. */
    builtin: z.boolean(),
    created_at: z.iso.datetime({ offset: true }),
    updated_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'IpCategory' });
export type IpCategoryResponse = z.infer<typeof IpCategoryResponseSchema>;

export const IpCategoryListResponseSchema = z
  .object({ ip_categories: z.array(IpCategoryResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'IpCategoryList' });
export type IpCategoryListResponse = z.infer<typeof IpCategoryListResponseSchema>;

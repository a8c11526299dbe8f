import type { IpCategory } from '../generated/prisma/client';
import type { IpCategoryResponse } from './ip-categories.dto';

export function presentIpCategory(category: IpCategory): IpCategoryResponse {
  return {
    name: category.name,
    uri: `/api/ip-categories/${encodeURIComponent(category.name)}`,
    cidrs: category.cidrs,
    description: category.description,
    builtin: category.builtin,
    created_at: category.createdAt.toISOString(),
    updated_at: category.updatedAt.toISOString(),
  };
}
